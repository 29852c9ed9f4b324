"""Multicut and lifted multicut objectives of a node labelling, computed directly from the edge
lists (independently of any solver).

The objective is the sum of the costs of cut edges (an edge is cut when its two nodes carry
different labels); positive costs are attractive, so lower is better.
"""
from __future__ import annotations

import numpy as np

from microseg.post.graph.solvers.problem import check_edges, check_n_nodes, check_node_labels, \
    connected_labels


def _cut_cost(uv: np.ndarray, costs: np.ndarray, labels: np.ndarray) -> float:
    return float(costs[labels[uv[:, 0]] != labels[uv[:, 1]]].sum())


def decomposition_objective(uv: np.ndarray, costs: np.ndarray, lifted_uv: np.ndarray,
                            lifted_costs: np.ndarray, labels: np.ndarray) -> float:
    """Lifted multicut objective of node ``labels`` whose clusters are connected in the local
    graph, on validated inputs (no checks: the solvers' fast path)."""
    return _cut_cost(uv, costs, labels) + _cut_cost(lifted_uv, lifted_costs, labels)


def multicut_objective(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray,
                       node_labels: np.ndarray) -> float:
    """Sum of ``costs`` over edges ``uv_ids`` whose nodes have different ``node_labels``.

    >>> multicut_objective(3, np.array([[0, 1], [1, 2]]), np.array([2.0, -1.0]), np.array([0, 0, 1]))
    -1.0
    """
    n_nodes = check_n_nodes(n_nodes)
    uv, values = check_edges(n_nodes, uv_ids, costs)
    return _cut_cost(uv, values, check_node_labels(n_nodes, node_labels))


def lifted_multicut_objective(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray,
                              lifted_uv_ids: np.ndarray, lifted_costs: np.ndarray,
                              node_labels: np.ndarray) -> float:
    """Lifted multicut objective: cut local plus cut lifted edge costs.

    A lifted edge is uncut only when its nodes are joined by a path of uncut *local* edges, so
    clusters of ``node_labels`` that are not connected in the local graph are first split into their
    connected pieces (the decomposition the labelling stands for), then cut edges are summed.

    >>> uv, lifted = np.array([[0, 1], [1, 2]]), np.array([[0, 2]])
    >>> lifted_multicut_objective(3, uv, np.array([1.0, 1.0]), lifted, np.array([-5.0]),
    ...                           np.array([0, 1, 0]))   # 0 and 2 are not connected: lifted cut
    -3.0
    """
    n_nodes = check_n_nodes(n_nodes)
    uv, values = check_edges(n_nodes, uv_ids, costs, "local edges")
    luv, lvalues = check_edges(n_nodes, lifted_uv_ids, lifted_costs, "lifted edges")
    labels = connected_labels(n_nodes, uv, check_node_labels(n_nodes, node_labels))
    return decomposition_objective(uv, values, luv, lvalues, labels)
