"""Blockwise ("hierarchical") solving of large (lifted) multicut problems, after Pape et al.
(2017, 2019): split the nodes into spatial blocks, solve the sub-problem of each block (only edges
with both nodes inside it), contract the clusters found, and repeat on the reduced problem with
blocks twice as large per axis; a last solve handles the fully reduced problem.

All blocks of one level are solved together as a single problem without the edges between blocks
(the sub-problems are independent, so this equals solving them one by one).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import reverse_cuthill_mckee

from microseg.errors import ConfigError, InputError
from microseg.post.graph.solvers.problem import consecutive
from microseg.post.graph.solvers.registry import SOLVERS


class Problem(NamedTuple):
    """A lifted multicut problem: local edges ``uv`` ``(E, 2)`` with ``costs``, lifted edges
    ``lifted_uv`` ``(L, 2)`` with ``lifted_costs``."""

    n_nodes: int
    uv: np.ndarray
    costs: np.ndarray
    lifted_uv: np.ndarray
    lifted_costs: np.ndarray


def _merge_parallel(n_nodes: int, uv: np.ndarray, costs: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Edges with both ends equal merged (costs added), self-loops dropped, rows sorted u < v."""
    low, high = np.minimum(uv[:, 0], uv[:, 1]), np.maximum(uv[:, 0], uv[:, 1])
    keep = low != high
    keys, inverse = np.unique(low[keep] * n_nodes + high[keep], return_inverse=True)
    summed = np.bincount(inverse, weights=costs[keep], minlength=len(keys))
    return np.stack([keys // n_nodes, keys % n_nodes], axis=1), summed


def contract_problem(problem: Problem, node_labels: np.ndarray) -> Problem:
    """The problem on the clusters of ``node_labels`` (consecutive ``0..K-1``): parallel edges are
    merged by adding their costs, and a lifted edge between two clusters that touch becomes part
    of their local edge."""
    n = int(node_labels.max()) + 1 if len(node_labels) else 0
    uv, costs = _merge_parallel(n, node_labels[problem.uv], problem.costs)
    luv, lcosts = _merge_parallel(n, node_labels[problem.lifted_uv], problem.lifted_costs)
    local_keys = uv[:, 0] * n + uv[:, 1]
    lifted_keys = luv[:, 0] * n + luv[:, 1]
    shared = np.isin(lifted_keys, local_keys)
    costs = costs + np.bincount(np.searchsorted(local_keys, lifted_keys[shared]),
                                weights=lcosts[shared], minlength=len(costs))
    return Problem(n, uv, costs, luv[~shared], lcosts[~shared])


def _graph_order(n_nodes: int, uv: np.ndarray) -> np.ndarray:
    """``(n_nodes, 1)`` coordinates: each node's rank in a breadth-first (reverse Cuthill–McKee)
    ordering of the local graph, so consecutive ranks are close in the graph."""
    graph = coo_matrix((np.ones(len(uv), np.int8), (uv[:, 0], uv[:, 1])),
                       shape=(n_nodes, n_nodes)).tocsr()
    order = reverse_cuthill_mckee(graph + graph.T, symmetric_mode=True)
    rank = np.empty(n_nodes, np.float64)
    rank[order] = np.arange(n_nodes)
    return rank[:, None]


def _blocks(coords: np.ndarray, block_shape: np.ndarray) -> np.ndarray:
    """Block id per node from its coordinates."""
    cells = np.floor(coords / block_shape).astype(np.int64)
    return np.unique(cells, axis=0, return_inverse=True)[1].reshape(-1)


def _solve(name: str, problem: Problem, options: dict) -> np.ndarray:
    if name == "hierarchical":
        raise ConfigError("hierarchical solver: the block and final solvers cannot be "
                          "'hierarchical' themselves")
    solver = SOLVERS.get(name)
    return consecutive(solver(problem.n_nodes, problem.uv, problem.costs, problem.lifted_uv,
                              problem.lifted_costs, **options))


@SOLVERS.register("hierarchical")
def solve_hierarchical(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray,
                       lifted_uv_ids: np.ndarray, lifted_costs: np.ndarray, *,
                       node_coords: np.ndarray | None = None,
                       block_shape: Sequence[float] | float | None = None, n_levels: int = 1,
                       block_solver: str = "kl", final_solver: str = "kl",
                       solver_options: dict | None = None) -> np.ndarray:
    """Blockwise (lifted) multicut.

    Args:
        node_coords: ``(n_nodes, D)`` position of every node (e.g. superpixel centroids in
            pixels, ``(z, y, x)``); None: the node's rank in a breadth-first ordering of the graph.
        block_shape: block size per axis at the first level, in the units of ``node_coords``
            (one number or one per axis); default: 1,000 nodes per block for the graph ordering,
            else a quarter of the coordinate range per axis.
        n_levels: number of block levels before the final solve (block size doubles per level).
        block_solver / final_solver: registered solver names for the blocks and the last step.
        solver_options: keyword options passed to both solvers (e.g. ``{"max_rounds": 20}``).
    """
    options = dict(solver_options or {})
    problem = Problem(n_nodes, uv_ids, costs, lifted_uv_ids, lifted_costs)
    if node_coords is None:
        coords = _graph_order(n_nodes, uv_ids)
        default = np.array([1000.0])
    else:
        coords = np.asarray(node_coords, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[0] != n_nodes or not np.all(np.isfinite(coords)):
            raise InputError(None, f"hierarchical solver: node_coords must be finite with shape "
                                   f"({n_nodes}, D), got {coords.shape}")
        extent = np.ptp(coords, axis=0) if n_nodes else np.zeros(coords.shape[1])
        default = np.maximum(extent / 4.0, 1.0)
    shape = default if block_shape is None else \
        np.broadcast_to(np.asarray(block_shape, np.float64), (coords.shape[1],)).copy()
    if np.any(shape <= 0) or int(n_levels) < 0:
        raise ConfigError(f"hierarchical solver: block_shape must be > 0 and n_levels >= 0, got "
                          f"{shape.tolist()} and {n_levels}")
    labels = np.arange(n_nodes)
    for level in range(int(n_levels)):
        blocks = _blocks(coords, shape * 2.0 ** level)
        inside = blocks[problem.uv[:, 0]] == blocks[problem.uv[:, 1]]
        lifted_inside = blocks[problem.lifted_uv[:, 0]] == blocks[problem.lifted_uv[:, 1]]
        sub = Problem(problem.n_nodes, problem.uv[inside], problem.costs[inside],
                      problem.lifted_uv[lifted_inside], problem.lifted_costs[lifted_inside])
        clusters = _solve(block_solver, sub, options)
        counts = np.bincount(clusters)
        coords = np.stack([np.bincount(clusters, weights=c) for c in coords.T], axis=1) \
            / counts[:, None]
        problem = contract_problem(problem, clusters)
        labels = clusters[labels]
    return _solve(final_solver, problem, options)[labels]
