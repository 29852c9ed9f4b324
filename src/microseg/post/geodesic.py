"""Geodesic label growth inside a mask, and label contacts at chosen pixels (numba kernels).

Both work on ``(Y, X)`` and ``(Z, Y, X)`` arrays through one flat index: the arrays are padded by
``radius`` pixels so that every neighbour offset of an inner pixel stays inside, and padding is
never passable.
"""
from __future__ import annotations

import numba
import numpy as np


def _offsets(shape: tuple[int, ...], radius: int, faces_only: bool) -> np.ndarray:
    """Flat index offsets of the face neighbours (``faces_only``) or of the box of half-width
    ``radius`` without its centre, in a C-ordered array of ``shape``."""
    strides = np.cumprod((1,) + shape[:0:-1])[::-1]
    steps = np.stack(np.meshgrid(*[np.arange(-radius, radius + 1)] * len(shape),
                                 indexing="ij"), -1).reshape(-1, len(shape))
    keep = np.abs(steps).sum(1) == 1 if faces_only else np.any(steps != 0, axis=1)
    return (steps[keep] @ strides).astype(np.int64)


@numba.njit(cache=True)
def _flood(labels: np.ndarray, passable: np.ndarray, offsets: np.ndarray) -> None:
    """Breadth-first growth of the nonzero ``labels`` into passable zero pixels, in place."""
    queue = np.empty(labels.size, np.int64)   # every pixel enters at most once
    end = 0
    for index in range(labels.size):
        if labels[index] != 0:
            queue[end] = index
            end += 1
    head = 0
    while head < end:
        index = queue[head]
        head += 1
        for step in offsets:
            other = index + step
            if passable[other] and labels[other] == 0:
                labels[other] = labels[index]
                queue[end] = other
                end += 1


@numba.njit(cache=True)
def _touches_other(labels: np.ndarray, indices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For each flat index: does its neighbourhood hold a nonzero label other than its own?"""
    found = np.zeros(indices.size, np.bool_)
    for i in range(indices.size):
        own = labels[indices[i]]
        for step in offsets:
            value = labels[indices[i] + step]
            if value != 0 and value != own:
                found[i] = True
                break
    return found


def geodesic_territory(markers: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Every ``mask`` pixel reachable from a marker through ``mask`` (face neighbours) gets the
    label of the nearest marker in city-block geodesic distance (ties: the marker reached first
    in raster order); other pixels keep ``markers``' value. Same shape and dtype as ``markers``."""
    padded = np.pad(markers, 1)
    passable = np.pad(mask.astype(bool), 1)
    _flood(padded.ravel(), passable.ravel(), _offsets(padded.shape, 1, faces_only=True))
    return padded[(slice(1, -1),) * markers.ndim]


def touches_other_label(labels: np.ndarray, where: np.ndarray, radius: int) -> np.ndarray:
    """Boolean mask: pixels of ``where`` whose box of half-width ``radius`` (clipped at the
    image border) holds a nonzero label different from their own."""
    padded = np.pad(labels, radius)
    inner = (slice(radius, -radius or None),) * labels.ndim
    indices = np.flatnonzero(np.pad(where.astype(bool), radius))
    found = np.zeros(padded.size, bool)
    found[indices] = _touches_other(padded.ravel(), indices,
                                    _offsets(padded.shape, radius, faces_only=False))
    return found.reshape(padded.shape)[inner]

