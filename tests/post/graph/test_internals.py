"""The numba building blocks of the solvers against plain Python references."""
import numpy as np

from microseg.post.graph.solvers.contraction import contract_edges, merge_labels
from microseg.post.graph.solvers.heap import heap_pop, heap_push, indexed_remove, indexed_set, \
    new_heap
from microseg.post.graph.solvers.kernighan_lin import merged_adjacency
from microseg.post.graph.solvers.pair_table import new_table, table_find, table_insert, \
    table_remove


def test_pair_table_matches_a_dict_under_random_operations():
    rng = np.random.default_rng(0)
    keys, values, bits = new_table(64)          # small table: long probe runs, many shifts
    reference = {}
    for step in range(5000):
        key = int(rng.integers(0, 300))
        op = rng.random()
        if op < 0.5 and len(reference) < 100:
            table_insert(keys, values, bits, key, step)
            reference[key] = step
        elif op < 0.8:
            table_remove(keys, values, bits, key)
            reference.pop(key, None)
        assert table_find(keys, values, bits, key) == reference.get(key, -1)
    for key in range(300):
        assert table_find(keys, values, bits, key) == reference.get(key, -1)


def test_heap_pops_in_descending_order():
    rng = np.random.default_rng(1)
    values = rng.normal(size=500)
    p, i, s = new_heap(500)
    size = 0
    for k, v in enumerate(values):
        size = heap_push(p, i, s, size, v, k, 7)
    popped = []
    while size:
        popped.append((p[0], i[0], s[0]))
        size = heap_pop(p, i, s, size)
    assert [x[0] for x in popped] == sorted(values, reverse=True)
    assert all(values[x[1]] == x[0] and x[2] == 7 for x in popped)


def test_indexed_heap_matches_a_dict_under_random_operations():
    """Set / change / remove priorities of 40 items at random; the top is always the item of
    largest priority in a plain dict, and ``where`` points at every item's slot."""
    rng = np.random.default_rng(3)
    n = 40
    priority, item, where = np.empty(n), np.empty(n, np.int64), np.full(n, -1, np.int64)
    size, reference = 0, {}
    for _ in range(4000):
        i = int(rng.integers(0, n))
        if rng.random() < 0.7:
            p = float(rng.normal())
            size = indexed_set(priority, item, where, size, i, p)
            reference[i] = p
        elif rng.random() < 0.5 or not reference:
            size = indexed_remove(priority, item, where, size, i)
            reference.pop(i, None)
        else:                                                   # pop the top
            top = int(item[0])
            assert reference[top] == max(reference.values())
            size = indexed_remove(priority, item, where, size, top)
            del reference[top]
        assert size == len(reference)
        if reference:
            assert priority[0] == max(reference.values())
        assert all(item[where[k]] == k and priority[where[k]] == v for k, v in reference.items())
        assert all(where[k] == -1 for k in range(n) if k not in reference)


def test_merged_adjacency_lists_each_neighbour_once_with_summed_costs():
    rng = np.random.default_rng(4)
    n = 30
    uv = rng.integers(0, n, (200, 2))
    uv = uv[uv[:, 0] != uv[:, 1]]
    costs, local = rng.normal(size=len(uv)), rng.random(len(uv)) < 0.5
    expected = {}
    for (a, b), c, flag in zip(uv.tolist(), costs, local):
        for x, y in ((a, b), (b, a)):
            old = expected.get((x, y), (0.0, False))
            expected[(x, y)] = (old[0] + c, old[1] or bool(flag))
    indptr, nbr, cost, is_local = merged_adjacency(n, uv, costs, local)
    for x in range(n):
        row = nbr[indptr[x]:indptr[x + 1]].tolist()
        # higher neighbours ascending, then lower ones ascending
        assert row == sorted(y for y in row if y > x) + sorted(y for y in row if y < x)
        assert set(row) == {y for (a, y) in expected if a == x}
        for j in range(indptr[x], indptr[x + 1]):
            c, flag = expected[(x, int(nbr[j]))]
            assert np.isclose(cost[j], c) and is_local[j] == flag


def test_contraction_follows_greedy_reference():
    """GAEC on random graphs equals a slow reference that recomputes cluster costs each step."""
    rng = np.random.default_rng(2)
    for _ in range(30):
        n = 12
        uv = np.array([(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.35])
        costs = rng.normal(0.0, 1.0, len(uv))
        merges = contract_edges(n, uv, costs, np.ones(len(uv)), np.ones(len(uv), bool),
                                mean_mode=False, stop=0.0)
        labels = np.arange(n)
        for keep, gone, value in zip(*merges):
            between = {}
            for (a, b), c in zip(uv, costs):
                la, lb = labels[a], labels[b]
                if la != lb:
                    key = (min(la, lb), max(la, lb))
                    between[key] = between.get(key, 0.0) + c
            best = max(between.values())
            assert abs(value - best) < 1e-9
            assert between[(min(keep, gone), max(keep, gone))] == max(between.values())
            labels[labels == gone] = keep
        final = {}
        for (a, b), c in zip(uv, costs):
            if labels[a] != labels[b]:
                key = (min(labels[a], labels[b]), max(labels[a], labels[b]))
                final[key] = final.get(key, 0.0) + c
        assert all(v <= 0 for v in final.values())
        assert np.array_equal(merge_labels(n, merges.keep, merges.gone), labels)
