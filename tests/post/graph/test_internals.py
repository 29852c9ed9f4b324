"""The numba building blocks of the solvers against plain Python references."""
import numpy as np

from microseg.post.graph.solvers.contraction import contract_edges, merge_labels
from microseg.post.graph.solvers.heap import heap_pop, heap_push, new_heap
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
