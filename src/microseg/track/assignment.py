"""Globally optimal one-to-one assignment with the option of leaving anything unassigned.

The linear assignment problem of Jaqaman et al. (2008): candidate pairs ``(r, c)`` with costs,
plus a cost for leaving row ``r`` or column ``c`` unassigned. It is solved exactly as a
minimum-weight perfect matching of a sparse augmented bipartite graph (``scipy.sparse.csgraph.
min_weight_full_bipartite_matching``, LAPJVsp): row ``r`` may take column ``c`` (the pair's cost)
or its own "unassigned" column (``row_cost[r]``); column ``c`` may be taken by its own
"unassigned" row (``col_cost[c]``); and the unassigned row of ``c`` may take the unassigned
column of ``r`` for every candidate pair (cost 0), which keeps a perfect matching possible
whichever pairs are chosen. Only candidate pairs enter, so memory grows with their number, not
with rows × columns.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

# Every perfect matching of the augmented graph has n_rows + n_cols edges, so adding the same
# constant to every edge leaves the optimum unchanged; it keeps zero costs from being dropped as
# "no edge" by the sparse solver.
_OFFSET = 1.0


def assign(n_rows: int, n_cols: int, rows: np.ndarray, cols: np.ndarray, costs: np.ndarray,
           row_cost: np.ndarray | float, col_cost: np.ndarray | float) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Choose candidate pairs ``(rows[k], cols[k])`` with ``costs[k]`` (≥ 0), each row and column
    at most once, minimising the chosen costs plus ``row_cost`` / ``col_cost`` (scalars or
    ``(n_rows,)`` / ``(n_cols,)``) of every row / column left out. Returns the chosen rows and
    columns (int64 arrays of equal length, sorted by row).

    >>> assign(2, 2, np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([1.0, 0.5, 0.2]), 1, 1)
    (array([0, 1]), array([0, 1]))
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    costs = np.asarray(costs, np.float64)
    row_cost = np.broadcast_to(np.asarray(row_cost, np.float64), (n_rows,))
    col_cost = np.broadcast_to(np.asarray(col_cost, np.float64), (n_cols,))
    if np.any(costs < 0) or not np.all(np.isfinite(costs)):
        raise ValueError("assignment costs must be finite and ≥ 0")
    # A pair costing at least as much as leaving both ends out is never needed.
    useful = costs < row_cost[rows] + col_cost[cols]
    rows, cols, costs = rows[useful], cols[useful], costs[useful]
    empty = np.zeros(0, np.int64)
    if rows.size == 0:
        return empty, empty
    size = n_rows + n_cols
    real_rows, real_cols = np.arange(n_rows), np.arange(n_cols)
    matrix = coo_matrix((
        np.concatenate([costs, row_cost, col_cost, np.zeros(rows.size)]) + _OFFSET,
        (np.concatenate([rows, real_rows, n_rows + real_cols, n_rows + cols]),
         np.concatenate([cols, n_cols + real_rows, real_cols, n_cols + rows]))),
        shape=(size, size)).tocsr()
    matched_rows, matched_cols = min_weight_full_bipartite_matching(matrix)
    keep = (matched_rows < n_rows) & (matched_cols < n_cols)
    return matched_rows[keep].astype(np.int64), matched_cols[keep].astype(np.int64)
