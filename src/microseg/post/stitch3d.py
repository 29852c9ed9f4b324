"""Stitch per-slice 2D instances into 3D instances by linking overlapping objects of consecutive
slices.

Between slices ``z`` and ``z + 1`` the objects are matched one-to-one by maximum total IoU
(Hungarian assignment, :func:`scipy.optimize.linear_sum_assignment`) among pairs that overlap;
matched pairs with IoU ≥ ``iou_threshold`` are joined, and the chains of joined objects through
the stack become the 3D instances. IoU compares pixel sets on the same (Y, X) grid, so it needs
no voxel size.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from microseg.errors import InputError
from microseg.post.cleanup import finalize_labels


def link_slices(lower: np.ndarray, upper: np.ndarray,
                iou_threshold: float = 0.3) -> np.ndarray:
    """Pairs ``(M, 2)`` of ids ``(lower id, upper id)`` of two 2D label images ``(Y, X)`` matched
    one-to-one by IoU (Hungarian), keeping pairs with IoU ≥ ``iou_threshold``."""
    return linked_iou(lower, upper, iou_threshold)[0]


def linked_iou(lower: np.ndarray, upper: np.ndarray,
               iou_threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """:func:`link_slices` of two label arrays of one shape (any dimension) and the IoU of each
    pair → ``(pairs (M, 2), iou (M,))``."""
    both = (lower > 0) & (upper > 0)
    if not both.any():
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    pairs, inter = np.unique(np.stack([lower[both], upper[both]]).astype(np.int64), axis=1,
                             return_counts=True)
    size_low = np.bincount(lower.ravel())
    size_up = np.bincount(upper.ravel())
    iou = inter / (size_low[pairs[0]] + size_up[pairs[1]] - inter)
    rows, row_index = np.unique(pairs[0], return_inverse=True)
    cols, col_index = np.unique(pairs[1], return_inverse=True)
    matrix = np.zeros((rows.size, cols.size))
    matrix[row_index, col_index] = iou
    r, c = linear_sum_assignment(matrix, maximize=True)
    keep = matrix[r, c] >= iou_threshold
    return np.stack([rows[r[keep]], cols[c[keep]]], axis=1), matrix[r[keep], c[keep]]


def stitch_slices(labels: np.ndarray, iou_threshold: float = 0.3) -> np.ndarray:
    """3D instances from per-slice labels ``(Z, Y, X)`` (ids independent per slice, 0 =
    background) → consecutive labels ``(Z, Y, X)``, uint16 (uint32 when needed).

    Objects of consecutive slices matched with IoU ≥ ``iou_threshold`` (see
    :func:`link_slices`) get the same id; an object without a match starts or ends an instance.
    """
    labels = np.asarray(labels)
    if labels.ndim != 3 or labels.dtype.kind not in "iu":
        raise InputError(None, f"stitching needs integer per-slice labels (Z, Y, X), got "
                               f"{labels.dtype} {labels.shape}")
    if not 0 < iou_threshold <= 1:
        raise InputError(None, f"iou_threshold must be in (0, 1], got {iou_threshold}")
    counts = labels.reshape(len(labels), -1).max(axis=1).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    edges = [link_slices(labels[z], labels[z + 1], iou_threshold) + offsets[[z, z + 1]]
             for z in range(len(labels) - 1)]
    links = np.concatenate(edges) if edges else np.zeros((0, 2), dtype=np.int64)
    total = int(counts.sum()) + 1
    graph = coo_matrix((np.ones(len(links)), (links[:, 0], links[:, 1])), shape=(total, total))
    _, component = connected_components(graph, directed=False)
    component = component + 1           # component of the background id 0 is irrelevant
    component[0] = 0
    glob = np.where(labels > 0, labels.astype(np.int64) + offsets[:, None, None], 0)
    return finalize_labels(component[glob])
