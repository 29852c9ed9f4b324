"""Region adjacency graph of a label image, with the pixel pairs that make up every face.

One pass per axis collects the pairs of neighbouring pixels (6-/4-connectivity) whose labels
differ; their label pairs become the edges, and the pairs themselves (flat pixel indices on both
sides, the axis) are kept so that edge features are grouped reductions over them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.images import as_labels


@dataclass(frozen=True, eq=False)
class RegionGraph:
    """Nodes are label ids ``0..n_nodes-1`` (label 0 is background and has no edges).

    ``uv_ids``: ``(E, 2)`` int64 edges with ``u < v``, sorted. Face pixel pairs ``(P,)``:
    ``face_edge`` (edge index), ``face_a`` / ``face_b`` (flat pixel indices of the two sides,
    labels ``u`` / ``v`` in either order) and ``face_axis`` (axis of the step between them).
    """

    shape: tuple[int, ...]
    n_nodes: int
    uv_ids: np.ndarray
    face_edge: np.ndarray
    face_a: np.ndarray
    face_b: np.ndarray
    face_axis: np.ndarray

    @property
    def n_edges(self) -> int:
        return len(self.uv_ids)

    def face_sizes(self, axes: Sequence[int] | None = None) -> np.ndarray:
        """Number of pixel pairs ``(E,)`` of every face (only steps along ``axes`` if given)."""
        keep = slice(None) if axes is None else np.isin(self.face_axis, list(axes))
        return np.bincount(self.face_edge[keep], minlength=self.n_edges)


def region_adjacency_graph(labels: np.ndarray, axes: Sequence[int] | None = None) -> RegionGraph:
    """Region adjacency graph of ``labels`` ``(Y, X)`` / ``(Z, Y, X)``.

    Args:
        labels: label image, 0 = background (never a node with edges).
        axes: axes along which pixels are neighbours (default all; ``(1, 2)`` for a stack whose
            slices are separate images).

    >>> g = region_adjacency_graph(np.array([[1, 1, 2], [3, 3, 2]]))
    >>> g.uv_ids.tolist(), g.face_sizes().tolist()
    ([[1, 2], [1, 3], [2, 3]], [1, 2, 1])
    """
    labels = as_labels(labels).astype(np.int64)
    if labels.ndim not in (2, 3):
        raise InputError(None, f"region graph needs (Y, X) or (Z, Y, X) labels, got {labels.shape}")
    axes = tuple(range(labels.ndim)) if axes is None else tuple(int(a) for a in axes)
    if any(a < 0 or a >= labels.ndim for a in axes):
        raise InputError(None, f"region graph: axes {axes} out of range for {labels.ndim}D labels")
    n_nodes = int(labels.max()) + 1 if labels.size else 1
    strides = np.array(labels.strides) // labels.itemsize
    keys, first, axis_ids = [], [], []
    for axis in axes:
        low = [slice(None)] * labels.ndim
        high = [slice(None)] * labels.ndim
        low[axis], high[axis] = slice(0, -1), slice(1, None)
        a, b = labels[tuple(low)], labels[tuple(high)]
        differ = (a != b) & (a > 0) & (b > 0)
        coords = np.nonzero(differ)
        flat = np.ravel_multi_index(coords, labels.shape)
        va, vb = a[coords], b[coords]
        keys.append(np.minimum(va, vb) * n_nodes + np.maximum(va, vb))
        first.append(flat)
        axis_ids.append(np.full(len(flat), axis, np.int8))
    all_keys = np.concatenate(keys) if keys else np.empty(0, np.int64)
    face_a = np.concatenate(first) if first else np.empty(0, np.int64)
    face_axis = np.concatenate(axis_ids) if axis_ids else np.empty(0, np.int8)
    edge_keys, face_edge = np.unique(all_keys, return_inverse=True)
    uv = np.stack([edge_keys // n_nodes, edge_keys % n_nodes], axis=1)
    face_b = face_a + strides[face_axis.astype(np.int64)]
    return RegionGraph(labels.shape, n_nodes, uv, face_edge.reshape(-1).astype(np.int64),
                       face_a.astype(np.int64), face_b.astype(np.int64), face_axis)
