"""The sparse assignment with unassigned options against brute force over every matching."""
import itertools

import numpy as np
import pytest

from microseg.track.assignment import assign


def total_cost(pairs, candidates, row_cost, col_cost, n_rows, n_cols):
    rows = {r for r, _ in pairs}
    cols = {c for _, c in pairs}
    return (sum(candidates[p] for p in pairs)
            + sum(row_cost[r] for r in range(n_rows) if r not in rows)
            + sum(col_cost[c] for c in range(n_cols) if c not in cols))


def brute_force(candidates, row_cost, col_cost, n_rows, n_cols):
    """Lowest total cost over every one-to-one choice of candidate pairs."""
    options = [[None] + [c for (r, c) in candidates if r == row] for row in range(n_rows)]
    best = np.inf
    for choice in itertools.product(*options):
        used = [c for c in choice if c is not None]
        if len(used) != len(set(used)):
            continue
        pairs = [(r, c) for r, c in enumerate(choice) if c is not None]
        best = min(best, total_cost(pairs, candidates, row_cost, col_cost, n_rows, n_cols))
    return best


@pytest.mark.parametrize("seed", range(30))
def test_assign_is_optimal(seed):
    rng = np.random.default_rng(seed)
    n_rows, n_cols = rng.integers(1, 5, size=2)
    every = [(r, c) for r in range(n_rows) for c in range(n_cols)]
    chosen = rng.random(len(every)) < 0.6
    candidates = {p: float(rng.uniform(0, 3)) for p, keep in zip(every, chosen) if keep}
    candidates.update({p: 0.0 for p in list(candidates)[:1]})  # a zero cost is a valid edge
    row_cost = rng.uniform(0.2, 1.5, n_rows)
    col_cost = rng.uniform(0.2, 1.5, n_cols)
    rows = np.array([r for r, _ in candidates], np.int64)
    cols = np.array([c for _, c in candidates], np.int64)
    got_rows, got_cols = assign(n_rows, n_cols, rows, cols, np.array(list(candidates.values())),
                                row_cost, col_cost)
    pairs = list(zip(got_rows.tolist(), got_cols.tolist()))
    assert len(set(got_rows.tolist())) == len(pairs) == len(set(got_cols.tolist()))
    assert all(p in candidates for p in pairs)
    got = total_cost(pairs, candidates, row_cost, col_cost, n_rows, n_cols)
    assert got == pytest.approx(brute_force(candidates, row_cost, col_cost, n_rows, n_cols))


def test_assign_beats_greedy_choice():
    # Greedy would take the cheapest pair (0, 0) and leave row 1 without a partner.
    rows, cols = np.array([0, 0, 1]), np.array([0, 1, 0])
    got = assign(2, 2, rows, cols, np.array([0.1, 0.3, 0.2]), 5.0, 5.0)
    assert [g.tolist() for g in got] == [[0, 1], [1, 0]]


def test_pairs_dearer_than_leaving_both_out_are_not_made():
    got = assign(1, 1, np.array([0]), np.array([0]), np.array([2.5]), 1.0, 1.0)
    assert got[0].size == 0 and got[1].size == 0
    got = assign(1, 1, np.array([0]), np.array([0]), np.array([1.5]), 1.0, 1.0)
    assert got[0].tolist() == [0] and got[1].tolist() == [0]


def test_no_candidates_and_bad_costs():
    assert assign(3, 2, np.zeros(0), np.zeros(0), np.zeros(0), 1.0, 1.0)[0].size == 0
    with pytest.raises(ValueError):
        assign(1, 1, np.array([0]), np.array([0]), np.array([-1.0]), 1.0, 1.0)
