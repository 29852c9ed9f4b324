"""Public entry points: :func:`multicut` and :func:`lifted_multicut` (validate, run a registered
solver, return consecutive node labels)."""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from microseg.errors import ConfigError
from microseg.post.graph.solvers import hierarchical  # noqa: F401  (registers "hierarchical")
from microseg.post.graph.solvers.objective import decomposition_objective
from microseg.post.graph.solvers.problem import check_edges, check_n_nodes, connected_labels, \
    consecutive
from microseg.post.graph.solvers.registry import SOLVERS


def available_solvers() -> list[str]:
    """Names accepted by ``solver=``."""
    return SOLVERS.available()


def _run(name: str, n_nodes: int, uv: np.ndarray, costs: np.ndarray, lifted_uv: np.ndarray,
         lifted_costs: np.ndarray, options: dict[str, Any]) -> np.ndarray:
    solver = SOLVERS.get(name)
    accepted = [p.name for p in list(inspect.signature(solver).parameters.values())[5:]]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"multicut solver {name!r}: unknown option(s) {unknown}; "
                          f"allowed: {accepted}")
    labels = solver(n_nodes, uv, costs, lifted_uv, lifted_costs, **options)
    # never return worse than the two trivial decompositions (all joined / all separate)
    candidates = [connected_labels(n_nodes, uv, labels), connected_labels(n_nodes, uv),
                  np.arange(n_nodes)]
    scores = [decomposition_objective(uv, costs, lifted_uv, lifted_costs, c) for c in candidates]
    return consecutive(candidates[int(np.argmin(scores))])


def multicut(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray, solver: str = "kl",
             **options: Any) -> np.ndarray:
    """Partition a graph by minimising the sum of the costs of cut edges.

    Args:
        n_nodes: number of nodes (ids ``0..n_nodes-1``).
        uv_ids: ``(E, 2)`` node pairs (parallel edges add up; no self-loops).
        costs: ``(E,)`` finite costs; positive = attractive (prefer joining), negative = repulsive.
        solver: ``"gaec"`` (greedy additive edge contraction), ``"kl"`` (GAEC + Kernighan–Lin,
            default) or ``"hierarchical"`` (blockwise; options ``node_coords``, ``block_shape``,
            ``n_levels``, ``block_solver``, ``final_solver``, ``solver_options``).
        **options: solver options (``max_rounds`` for ``"kl"``).
    Returns:
        ``(n_nodes,)`` int64 cluster id per node, consecutive from 0; every cluster is connected.

    >>> uv = np.array([[0, 1], [1, 2], [2, 3]])
    >>> multicut(4, uv, np.array([5.0, -2.0, 3.0])).tolist()
    [0, 0, 1, 1]
    """
    n_nodes = check_n_nodes(n_nodes)
    uv, values = check_edges(n_nodes, uv_ids, costs)
    return _run(solver, n_nodes, uv, values, np.empty((0, 2), np.int64), np.empty(0), options)


def lifted_multicut(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray,
                    lifted_uv_ids: np.ndarray, lifted_costs: np.ndarray, solver: str = "kl",
                    **options: Any) -> np.ndarray:
    """Lifted multicut: like :func:`multicut`, plus lifted edges ``lifted_uv_ids`` ``(L, 2)`` with
    ``lifted_costs`` ``(L,)`` that count as cut unless their nodes end up in one cluster, while
    clusters must stay connected through local edges (Keuper et al. 2015).

    >>> uv = np.array([[0, 1], [1, 2]])            # a path 0 - 1 - 2, weakly attractive
    >>> lifted_multicut(3, uv, np.array([1.0, 1.0]), np.array([[0, 2]]), np.array([-5.0])).tolist()
    [0, 0, 1]
    """
    n_nodes = check_n_nodes(n_nodes)
    uv, values = check_edges(n_nodes, uv_ids, costs, "local edges")
    luv, lvalues = check_edges(n_nodes, lifted_uv_ids, lifted_costs, "lifted edges")
    return _run(solver, n_nodes, uv, values, luv, lvalues, options)
