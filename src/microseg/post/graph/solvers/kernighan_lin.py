"""Kernighan–Lin local search for multicut and lifted multicut (the KLj algorithm of Keuper et
al. 2015), refining a start labelling (by default the GAEC result).

A round visits every pair of clusters that touch in the local graph, and every single cluster
paired with a new empty one, when either changed in the previous round and since that pair was
last visited (an update depends on nothing but its two clusters, so it would fail again). For each such pair it
runs one Kernighan–Lin sequence: move, one at a time, the vertex whose move to the other side
lowers the objective most (negative gains allowed; only vertices with a local neighbour on the
other side may move, so sides stay attached), remember the objective change after every prefix
of the sequence, and also consider joining the two clusters outright. The candidates are tried in
order of predicted improvement (at most ``tries`` of them): each is applied tentatively, clusters
that fell apart in the local graph are split into their connected pieces, and the change is kept
only if the exact objective (local and lifted edges) decreased. Rounds repeat until none improves,
so the objective never increases and every cluster stays connected.
"""
from __future__ import annotations

import numba
import numpy as np

from microseg.post.graph.solvers.heap import indexed_remove, indexed_set
from microseg.post.graph.solvers.problem import connected_labels, consecutive


# flags in the low bits of a vertex's tag; the stamp of the current update is in the high bits
SIDE, MOVED = 1, 2


@numba.njit(cache=True, inline="always")
def _link(v, c, head, nxt, prv, size):
    prv[v] = -1
    nxt[v] = head[c]
    if head[c] != -1:
        prv[head[c]] = v
    head[c] = v
    size[c] += 1


@numba.njit(cache=True, inline="always")
def _unlink(v, c, head, nxt, prv, size):
    if prv[v] != -1:
        nxt[prv[v]] = nxt[v]
    else:
        head[c] = nxt[v]
    if nxt[v] != -1:
        prv[nxt[v]] = prv[v]
    size[c] -= 1


@numba.njit(cache=True)
def _apply(prefix, a_id, b_id, nv, indptr, nbr, cost, local, labels, head, nxt, prv, size, free,
           counters, changed, tag, verts, order, old_label, queue, seen, claimed, fresh, eps):
    """Tentatively join ``a_id`` and ``b_id`` (``prefix < 0``) or apply the first ``prefix`` moves
    of ``order``; split clusters that fell apart; keep the change only if the exact objective
    decreased by more than ``eps`` (then advance the clock ``counters[3]`` and record it in
    ``changed`` for every cluster involved). Returns True when kept."""
    st = counters[0]
    counters[2] += 1
    try_stamp = counters[2]
    n_fresh = 0
    for i in range(nv):
        old_label[verts[i]] = labels[verts[i]]
    if prefix < 0:
        for i in range(nv):
            labels[verts[i]] = a_id
    else:
        target = b_id
        if b_id < 0:
            counters[1] -= 1
            target = free[counters[1]]
            fresh[n_fresh] = target
            n_fresh += 1
        for i in range(prefix):
            v = order[i]
            labels[v] = target if old_label[v] == a_id else a_id
    # split clusters that are no longer connected through local edges
    for i in range(nv):
        v = verts[i]
        if seen[v] == try_stamp:
            continue
        lab = labels[v]
        new = lab
        if claimed[lab] == try_stamp:
            counters[1] -= 1
            new = free[counters[1]]
            fresh[n_fresh] = new
            n_fresh += 1
        else:
            claimed[lab] = try_stamp
        seen[v] = try_stamp
        labels[v] = new
        queue[0] = v
        q_head, q_tail = 0, 1
        while q_head < q_tail:
            x = queue[q_head]
            q_head += 1
            for j in range(indptr[x], indptr[x + 1]):
                w = nbr[j]
                if local[j] and tag[w] >> 3 == st and seen[w] != try_stamp and labels[w] == lab:
                    seen[w] = try_stamp
                    labels[w] = new
                    queue[q_tail] = w
                    q_tail += 1
    # exact change of the objective over all edges touching the two clusters
    delta = 0.0
    for i in range(nv):
        v = verts[i]
        for j in range(indptr[v], indptr[v + 1]):
            w = nbr[j]
            if tag[w] >> 3 == st:
                if w < v:
                    continue
                before = old_label[v] != old_label[w]
            else:
                before = old_label[v] != labels[w]
            after = labels[v] != labels[w]
            if after and not before:
                delta += cost[j]
            elif before and not after:
                delta -= cost[j]
    if delta < -eps:
        counters[3] += 1
        now = counters[3]
        for i in range(nv):
            v = verts[i]
            if labels[v] != old_label[v]:
                _unlink(v, old_label[v], head, nxt, prv, size)
                _link(v, labels[v], head, nxt, prv, size)
            changed[labels[v]] = now
        for c in (a_id, b_id):
            if c >= 0:
                changed[c] = now
                if size[c] == 0:
                    free[counters[1]] = c
                    counters[1] += 1
        return True
    for i in range(nv):
        labels[verts[i]] = old_label[verts[i]]
    for i in range(n_fresh):
        free[counters[1]] = fresh[i]
        counters[1] += 1
    return False


@numba.njit(cache=True)
def _update(a_id, b_id, indptr, nbr, cost, local, labels, head, nxt, prv, size, free, counters,
            changed, tag, gain, border, verts, order, cums, used, old_label, queue, seen, claimed,
            fresh, heap_p, heap_i, where, tries, eps):
    """One Kernighan–Lin update of clusters ``a_id`` and ``b_id`` (``-1``: a new empty cluster).
    ``counters`` = [set stamp, number of free ids, try stamp, clock]. The movable vertices (those
    with a local neighbour on the other side) wait in an indexed max-heap by gain, so a gain that
    changes is updated in place. The best ``tries`` candidates (prefixes of the move sequence and
    the join, by predicted gain) are checked exactly in turn. Returns True when the labels
    changed."""
    counters[0] += 1
    st = counters[0]
    nv = 0
    for c, s in ((a_id, 0), (b_id, 1)):
        if c < 0:
            continue
        v = head[c]
        while v != -1:
            verts[nv] = v
            tag[v] = (st << 3) | s
            nv += 1
            v = nxt[v]
    join = 0.0
    between = 0
    size_h = 0
    for i in range(nv):
        v = verts[i]
        g = 0.0
        bd = 0
        for j in range(indptr[v], indptr[v + 1]):
            t = tag[nbr[j]]
            if t >> 3 != st:
                continue
            if (t ^ tag[v]) & SIDE:
                g += cost[j]
                if local[j]:
                    bd += 1
                if not tag[v] & SIDE:
                    join += cost[j]
                    if local[j]:
                        between += 1
            else:
                g -= cost[j]
        gain[v] = g
        border[v] = bd
        if bd > 0:
            size_h = indexed_set(heap_p, heap_i, where, size_h, v, g)
    cum = 0.0
    k = 0
    while True:
        if k == 0 and b_id < 0:
            # a cluster against an empty one: the first move may take any vertex
            v = verts[0]
            for i in range(1, nv):
                if gain[verts[i]] > gain[v]:
                    v = verts[i]
        elif size_h == 0:
            break
        else:
            v = heap_i[0]
            size_h = indexed_remove(heap_p, heap_i, where, size_h, v)
        tag[v] = (tag[v] | MOVED) ^ SIDE
        cum += gain[v]
        order[k] = v
        cums[k] = cum
        used[k] = False
        k += 1
        for j in range(indptr[v], indptr[v + 1]):
            w = nbr[j]
            t = tag[w]
            if t >> 3 != st or t & MOVED:
                continue
            if not (t ^ tag[v]) & SIDE:
                gain[w] -= 2.0 * cost[j]
                if local[j]:
                    border[w] -= 1
            else:
                gain[w] += 2.0 * cost[j]
                if local[j]:
                    border[w] += 1
            if border[w] > 0:
                size_h = indexed_set(heap_p, heap_i, where, size_h, w, gain[w])
            else:
                size_h = indexed_remove(heap_p, heap_i, where, size_h, w)
    join_open = b_id >= 0 and between > 0
    for _ in range(tries):
        best = eps
        choice = -2
        if join_open and join > best:
            best = join
            choice = -1
        for i in range(k):
            if not used[i] and cums[i] > best:
                best = cums[i]
                choice = i
        if choice == -2:
            return False
        if choice == -1:
            join_open = False
        else:
            used[choice] = True
        if _apply(choice + 1 if choice >= 0 else -1, a_id, b_id, nv, indptr, nbr, cost, local,
                  labels, head, nxt, prv, size, free, counters, changed, tag, verts, order,
                  old_label, queue, seen, claimed, fresh, eps):
            return True
    return False


@numba.njit(cache=True)
def _kernighan_lin(indptr, nbr, cost, local, start_labels, max_rounds, tries, eps):
    n = start_labels.shape[0]
    labels = start_labels.copy()
    head = np.full(n, -1, np.int64)
    nxt = np.full(n, -1, np.int64)
    prv = np.full(n, -1, np.int64)
    size = np.zeros(n, np.int64)
    for v in range(n):
        _link(v, labels[v], head, nxt, prv, size)
    free = np.empty(n, np.int64)
    counters = np.zeros(4, np.int64)
    for c in range(n - 1, -1, -1):
        if size[c] == 0:
            free[counters[1]] = c
            counters[1] += 1
    # clock of each cluster id's last change, and of the last update of it alone
    changed = np.zeros(n, np.int64)
    alone_at = np.full(n, -1, np.int64)
    tag = np.zeros(n, np.int64)
    seen = np.zeros(n, np.int64)
    claimed = np.zeros(n, np.int64)
    gain = np.zeros(n, np.float64)
    border = np.zeros(n, np.int64)
    verts = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    cums = np.empty(n, np.float64)
    used = np.zeros(n, np.bool_)
    old_label = np.empty(n, np.int64)
    queue = np.empty(n, np.int64)
    fresh = np.empty(n, np.int64)
    heap_p = np.empty(n, np.float64)
    heap_i = np.empty(n, np.int64)
    where = np.full(n, -1, np.int64)
    pair_keys = np.empty(nbr.shape[0] // 2 + 1, np.int64)
    # pairs of the previous round (sorted keys) and the clock at their last update
    last_pairs = np.empty(0, np.int64)
    last_at = np.empty(0, np.int64)
    dirty = np.ones(n, np.bool_)
    for _ in range(max_rounds):
        round_start = counters[3]
        n_pairs = 0
        for v in range(n):
            for j in range(indptr[v], indptr[v + 1]):
                w = nbr[j]
                if local[j] and v < w and labels[v] != labels[w]:
                    pair_keys[n_pairs] = min(labels[v], labels[w]) * n + max(labels[v], labels[w])
                    n_pairs += 1
        pairs = np.unique(pair_keys[:n_pairs])
        pair_at = np.full(len(pairs), -1, np.int64)
        found = np.searchsorted(last_pairs, pairs)
        for i in range(len(pairs)):
            if found[i] < len(last_pairs) and last_pairs[found[i]] == pairs[i]:
                pair_at[i] = last_at[found[i]]
        improved = False
        # a pair (or a cluster alone) is updated when one of its clusters changed in the previous
        # round, unless neither changed since its last update: an update depends on nothing but
        # its two clusters, so it would fail again
        for i in range(len(pairs)):
            a_id, b_id = pairs[i] // n, pairs[i] % n
            if not (dirty[a_id] or dirty[b_id]) or size[a_id] == 0 or size[b_id] == 0 or \
                    max(changed[a_id], changed[b_id]) <= pair_at[i]:
                continue
            pair_at[i] = counters[3]
            if _update(a_id, b_id, indptr, nbr, cost, local, labels, head, nxt, prv, size, free,
                       counters, changed, tag, gain, border, verts, order, cums, used, old_label,
                       queue, seen, claimed, fresh, heap_p, heap_i, where, tries, eps):
                improved = True
        for c in range(n):
            if dirty[c] and size[c] > 1 and changed[c] > alone_at[c]:
                alone_at[c] = counters[3]
                if _update(c, -1, indptr, nbr, cost, local, labels, head, nxt, prv, size, free,
                           counters, changed, tag, gain, border, verts, order, cums, used,
                           old_label, queue, seen, claimed, fresh, heap_p, heap_i, where, tries,
                           eps):
                    improved = True
        if not improved:
            break
        for c in range(n):
            dirty[c] = changed[c] > round_start
        last_pairs, last_at = pairs, pair_at
    return labels


@numba.njit(cache=True)
def _adjacency(n_nodes, uv, costs, local):
    degree = np.zeros(n_nodes + 1, np.int64)
    for e in range(uv.shape[0]):
        degree[uv[e, 0] + 1] += 1
        degree[uv[e, 1] + 1] += 1
    start = np.cumsum(degree)
    fill = start[:-1].copy()
    nbr = np.empty(start[-1], np.int64)
    cost = np.empty(start[-1], np.float64)
    is_local = np.empty(start[-1], np.bool_)
    for e in range(uv.shape[0]):
        for x, y in ((uv[e, 0], uv[e, 1]), (uv[e, 1], uv[e, 0])):
            nbr[fill[x]], cost[fill[x]], is_local[fill[x]] = y, costs[e], local[e]
            fill[x] += 1
    # each row in order (higher neighbours ascending, then lower ones), parallel edges merged
    indptr = np.zeros(n_nodes + 1, np.int64)
    out = 0
    for x in range(n_nodes):
        lo, hi = start[x], start[x + 1]
        rank = nbr[lo:hi] + np.where(nbr[lo:hi] < x, n_nodes, 0)
        order = np.argsort(rank, kind="mergesort") + lo
        ids, values, flags = nbr[order], cost[order], is_local[order]
        for i in range(hi - lo):
            if i > 0 and ids[i] == ids[i - 1]:
                cost[out - 1] += values[i]
                is_local[out - 1] = is_local[out - 1] or flags[i]
            else:
                nbr[out], cost[out], is_local[out] = ids[i], values[i], flags[i]
                out += 1
        indptr[x + 1] = out
    return indptr, nbr[:out].copy(), cost[:out].copy(), is_local[:out].copy()


def merged_adjacency(n_nodes: int, uv: np.ndarray, costs: np.ndarray, local: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric CSR adjacency ``(indptr, neighbours, costs, local)`` with parallel edges merged
    (costs added, local when any part is local); each row lists the higher neighbours
    ascending, then the lower ones."""
    return _adjacency(int(n_nodes), np.ascontiguousarray(uv, np.int64).reshape(-1, 2),
                      np.ascontiguousarray(costs, np.float64),
                      np.ascontiguousarray(local, np.bool_))


def lifted_kernighan_lin(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray,
                         lifted_uv_ids: np.ndarray, lifted_costs: np.ndarray,
                         start: np.ndarray, max_rounds: int = 100, tries: int = 5,
                         eps: float = 1e-9) -> np.ndarray:
    """Refine node labelling ``start`` by lifted Kernighan–Lin on validated inputs; returns node
    labels ``(n_nodes,)`` int64 whose clusters are connected in the local graph.

    ``max_rounds``: upper bound on the rounds over all cluster pairs. ``tries``: how many of the
    best candidate changes of one pair are checked exactly before giving up on it (a candidate
    can fail when a cluster falls apart). ``eps``: smallest objective decrease that counts.
    """
    uv = np.concatenate([uv_ids, lifted_uv_ids]).astype(np.int64)
    local = np.zeros(len(uv), bool)
    local[:len(uv_ids)] = True
    indptr, nbr, cost, is_local = merged_adjacency(
        n_nodes, uv, np.concatenate([costs, lifted_costs]).astype(np.float64), local)
    start_labels = consecutive(connected_labels(n_nodes, uv_ids, np.asarray(start)))
    return _kernighan_lin(indptr, nbr, cost, is_local, start_labels, int(max_rounds),
                          int(tries), float(eps))


def kernighan_lin(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray, start: np.ndarray,
                  max_rounds: int = 100, tries: int = 5, eps: float = 1e-9) -> np.ndarray:
    """Refine node labelling ``start`` by Kernighan–Lin (multicut) on validated inputs."""
    return lifted_kernighan_lin(n_nodes, uv_ids, costs, np.empty((0, 2), np.int64), np.empty(0),
                                start, max_rounds, tries, eps)
