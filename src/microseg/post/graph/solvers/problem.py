"""Validation and small graph utilities shared by the solvers and the objectives.

A (lifted) multicut problem is given as arrays: ``n_nodes`` nodes ``0..n_nodes-1``, ``uv_ids``
``(E, 2)`` integer node pairs and ``costs`` ``(E,)`` finite floats (positive = attractive, the
objective sums the costs of cut edges). Parallel edges are allowed and act as one edge with the sum
of their costs; self-loops are not.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from microseg.errors import InputError


def check_edges(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray,
                what: str = "edges") -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(uv_ids int64 (E, 2), costs float64 (E,))``.

    Raises :class:`InputError` naming ``what`` for a bad shape, non-integer or out-of-range node
    ids, self-loops, mismatched lengths or non-finite costs.
    """
    uv = np.asarray(uv_ids)
    if uv.size == 0:
        uv = uv.reshape(0, 2)
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise InputError(None, f"{what}: uv_ids must have shape (n_edges, 2), got {uv.shape}")
    if uv.dtype.kind not in "iu":
        if uv.dtype.kind != "f" or not np.all(np.isfinite(uv)) or np.any(uv != np.round(uv)):
            raise InputError(None, f"{what}: uv_ids must be integer node ids, got {uv.dtype}")
    uv = uv.astype(np.int64)
    values = np.asarray(costs, dtype=np.float64)
    if values.ndim != 1 or values.shape[0] != uv.shape[0]:
        raise InputError(None, f"{what}: costs must have shape ({uv.shape[0]},) to match uv_ids, "
                               f"got {values.shape}")
    if uv.size:
        low, high = int(uv.min()), int(uv.max())
        if low < 0 or high >= n_nodes:
            bad = low if low < 0 else high
            raise InputError(None, f"{what}: node id {bad} is out of range for {n_nodes} nodes")
        loops = np.flatnonzero(uv[:, 0] == uv[:, 1])
        if loops.size:
            raise InputError(None, f"{what}: self-loop at edge {loops[0]} (node {uv[loops[0], 0]})")
    finite = np.isfinite(values)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise InputError(None, f"{what}: cost of edge {first} is {values[first]} (must be finite)")
    return uv, values


def check_n_nodes(n_nodes: int) -> int:
    """``n_nodes`` as a non-negative int (InputError otherwise)."""
    if isinstance(n_nodes, (bool, np.bool_)) or not isinstance(n_nodes, (int, np.integer)) \
            or n_nodes < 0:
        raise InputError(None, f"n_nodes must be a non-negative integer, got {n_nodes!r}")
    return int(n_nodes)


def check_node_labels(n_nodes: int, node_labels: np.ndarray) -> np.ndarray:
    """``node_labels`` ``(n_nodes,)`` as int64 (InputError on a wrong length or non-integers)."""
    labels = np.asarray(node_labels)
    if labels.shape != (n_nodes,):
        raise InputError(None, f"node_labels must have shape ({n_nodes},), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise InputError(None, f"node_labels must be integers, got {labels.dtype}")
    return labels.astype(np.int64)


def connected_labels(n_nodes: int, uv_ids: np.ndarray,
                     node_labels: np.ndarray | None = None) -> np.ndarray:
    """Consecutive labels ``(n_nodes,)`` of the connected components of the graph, restricted to
    edges whose two nodes share a label in ``node_labels`` (all edges when it is None). Splitting a
    labelling this way yields the decomposition whose clusters are connected."""
    uv = np.asarray(uv_ids, dtype=np.int64).reshape(-1, 2)
    if node_labels is not None:
        uv = uv[node_labels[uv[:, 0]] == node_labels[uv[:, 1]]]
    graph = coo_matrix((np.ones(len(uv), np.int8), (uv[:, 0], uv[:, 1])),
                       shape=(n_nodes, n_nodes))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def consecutive(node_labels: np.ndarray) -> np.ndarray:
    """Relabel to ``0..K-1`` in order of first appearance (int64)."""
    labels = np.asarray(node_labels, dtype=np.int64)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]
