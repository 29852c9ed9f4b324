"""Greedy edge contraction on a graph whose edges carry accumulated values (numba).

One engine serves greedy additive edge contraction (GAEC, lifted GAEC) and mean-linkage
agglomeration: repeatedly contract the best contractible edge; when two nodes merge, parallel edges
to a common neighbour are merged by adding their values. Each edge holds a sum ``a``, a weight sum
``b`` and a ``local`` flag (only local edges may be contracted; a merged edge is local when any of
its parts is). The priority of an edge is ``a`` (additive mode) or ``-a / b`` (mean mode: smallest
weighted mean first).

Data structures: a hash table maps node pairs to edge ids; every node keeps a list of its edge ids
in one shared pool (the smaller list is always merged into the larger, stale entries are dropped
lazily); a max-heap with lazy deletion orders the contractible edges.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from microseg.post.graph.solvers.heap import heap_pop, heap_push
from microseg.post.graph.solvers.pair_table import pair_key, table_find, table_insert, \
    table_remove


class Merges(NamedTuple):
    """The contractions performed, in order: node ``gone[k]`` merged into node ``keep[k]`` when the
    contracted edge had priority value ``value[k]`` (its sum ``a`` in additive mode, its weighted
    mean ``a / b`` in mean mode)."""

    keep: np.ndarray
    gone: np.ndarray
    value: np.ndarray


@numba.njit(cache=True, inline="always")
def _priority(a, b, mean_mode):
    if mean_mode:
        return -a / b
    return a


@numba.njit(cache=True)
def _compact(pool, start, length, alive, node):
    """Drop dead edge ids from ``node``'s list."""
    kept = 0
    base = start[node]
    for k in range(length[node]):
        f = pool[base + k]
        if alive[f]:
            pool[base + kept] = f
            kept += 1
    length[node] = kept


@numba.njit(cache=True)
def _append(pool, pool_end, start, length, capacity, alive, deg, node, f):
    """Append edge ``f`` to ``node``'s list; returns the (possibly reallocated) pool and its end."""
    if length[node] == capacity[node] and length[node] > 2 * deg[node]:
        _compact(pool, start, length, alive, node)
    if length[node] == capacity[node]:
        new_capacity = max(2 * capacity[node], 4)
        if pool_end + new_capacity > pool.shape[0]:
            grown = np.empty(max(2 * pool.shape[0], pool_end + new_capacity), np.int64)
            grown[:pool_end] = pool[:pool_end]
            pool = grown
        pool[pool_end:pool_end + length[node]] = pool[start[node]:start[node] + length[node]]
        start[node] = pool_end
        capacity[node] = new_capacity
        pool_end += new_capacity
    pool[start[node] + length[node]] = f
    length[node] += 1
    return pool, pool_end


@numba.njit(cache=True)
def contract(n_nodes, uv, a, b, local, mean_mode, stop):
    """Contract edges greedily while the best contractible edge has priority ``> stop``.

    Args:
        n_nodes: number of nodes.
        uv: ``(E, 2)`` int64 node pairs (parallel edges are merged first).
        a, b: ``(E,)`` float64 edge sums and weights (``b`` is only used in mean mode, > 0).
        local: ``(E,)`` bool, whether an edge may be contracted.
        mean_mode: order by smallest ``a / b`` instead of largest ``a``.
        stop: contract while the priority exceeds this (``0`` for GAEC; ``-inf`` runs until no
            contractible edge is left).
    Returns:
        ``(keep, gone, value)`` arrays of the merges in order.
    """
    n_edges = uv.shape[0]
    bits = 4
    while (1 << bits) < 2 * max(n_edges, 1):
        bits += 1
    keys = np.full(1 << bits, -1, np.int64)
    values = np.full(1 << bits, -1, np.int64)
    eu = np.empty(n_edges, np.int64)
    ev = np.empty(n_edges, np.int64)
    ea = np.empty(n_edges, np.float64)
    eb = np.empty(n_edges, np.float64)
    eloc = np.zeros(n_edges, np.bool_)
    deg = np.zeros(n_nodes, np.int64)
    m = 0
    for e in range(n_edges):
        u, v = uv[e, 0], uv[e, 1]
        key = pair_key(u, v, n_nodes)
        f = table_find(keys, values, bits, key)
        if f >= 0:
            ea[f] += a[e]
            eb[f] += b[e]
            eloc[f] = eloc[f] or local[e]
        else:
            eu[m], ev[m] = min(u, v), max(u, v)
            ea[m], eb[m], eloc[m] = a[e], b[e], local[e]
            table_insert(keys, values, bits, key, m)
            deg[u] += 1
            deg[v] += 1
            m += 1
    alive = np.zeros(n_edges, np.bool_)
    alive[:m] = True
    stamp = np.zeros(n_edges, np.int64)

    start = np.empty(n_nodes, np.int64)
    capacity = deg.copy()
    length = np.zeros(n_nodes, np.int64)
    total = 0
    for node in range(n_nodes):
        start[node] = total
        total += capacity[node]
    pool = np.empty(max(2 * total, 16), np.int64)
    pool_end = total
    for f in range(m):
        pool[start[eu[f]] + length[eu[f]]] = f
        length[eu[f]] += 1
        pool[start[ev[f]] + length[ev[f]]] = f
        length[ev[f]] += 1

    heap_p = np.empty(2 * m + 1, np.float64)
    heap_i = np.empty(2 * m + 1, np.int64)
    heap_s = np.empty(2 * m + 1, np.int64)
    size = 0
    for f in range(m):
        if eloc[f]:
            p = _priority(ea[f], eb[f], mean_mode)
            if p > stop:
                size = heap_push(heap_p, heap_i, heap_s, size, p, f, 0)

    keep_out = np.empty(max(n_nodes - 1, 0), np.int64)
    gone_out = np.empty(max(n_nodes - 1, 0), np.int64)
    value_out = np.empty(max(n_nodes - 1, 0), np.float64)
    n_merges = 0
    while size > 0:
        e, s, p = heap_i[0], heap_s[0], heap_p[0]
        size = heap_pop(heap_p, heap_i, heap_s, size)
        if not alive[e] or s != stamp[e]:
            continue
        if p <= stop:
            break
        keep, gone = eu[e], ev[e]
        if deg[gone] > deg[keep]:
            keep, gone = gone, keep
        alive[e] = False
        table_remove(keys, values, bits, pair_key(keep, gone, n_nodes))
        deg[keep] -= 1
        keep_out[n_merges] = keep
        gone_out[n_merges] = gone
        value_out[n_merges] = ea[e] if not mean_mode else ea[e] / eb[e]
        n_merges += 1
        base = start[gone]
        for k in range(length[gone]):
            f = pool[base + k]
            if not alive[f]:
                continue
            w = eu[f] if ev[f] == gone else ev[f]
            table_remove(keys, values, bits, pair_key(gone, w, n_nodes))
            g = table_find(keys, values, bits, pair_key(keep, w, n_nodes))
            if g >= 0:
                ea[g] += ea[f]
                eb[g] += eb[f]
                eloc[g] = eloc[g] or eloc[f]
                alive[f] = False
                deg[w] -= 1
                stamp[g] += 1
                if eloc[g]:
                    p = _priority(ea[g], eb[g], mean_mode)
                    if p > stop:
                        size = heap_push(heap_p, heap_i, heap_s, size, p, g, stamp[g])
                if length[w] > 2 * deg[w] + 8:
                    _compact(pool, start, length, alive, w)
            else:
                eu[f], ev[f] = min(keep, w), max(keep, w)
                table_insert(keys, values, bits, pair_key(keep, w, n_nodes), f)
                deg[keep] += 1
                pool, pool_end = _append(pool, pool_end, start, length, capacity, alive, deg,
                                         keep, f)
        length[gone] = 0
        deg[gone] = 0
    return keep_out[:n_merges], gone_out[:n_merges], value_out[:n_merges]


@numba.njit(cache=True)
def merge_labels(n_nodes, keep, gone):
    """Node labels ``(n_nodes,)`` (the id of each node's final representative) after ``merges``."""
    parent = np.arange(n_nodes)
    for k in range(keep.shape[0]):
        parent[gone[k]] = keep[k]
    labels = np.empty(n_nodes, np.int64)
    for node in range(n_nodes):
        root = node
        while parent[root] != root:
            root = parent[root]
        current = node
        while parent[current] != root and current != root:
            nxt = parent[current]
            parent[current] = root
            current = nxt
        labels[node] = root
    return labels


def contract_edges(n_nodes: int, uv: np.ndarray, a: np.ndarray, b: np.ndarray,
                   local: np.ndarray, mean_mode: bool, stop: float) -> Merges:
    """:func:`contract` on validated numpy inputs (see there)."""
    keep, gone, value = contract(int(n_nodes), np.ascontiguousarray(uv, np.int64),
                                 np.ascontiguousarray(a, np.float64),
                                 np.ascontiguousarray(b, np.float64),
                                 np.ascontiguousarray(local, np.bool_), bool(mean_mode),
                                 float(stop))
    return Merges(keep, gone, value)
