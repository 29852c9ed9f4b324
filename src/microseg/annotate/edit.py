"""Fixing labels by hand: brush strokes that paint or erase, and committing a new object.

Every function takes a label image ``(Y, X)`` and returns a new one (the input is not changed).
Strokes are polylines of ``(y, x)`` points in pixels, painted with a round brush.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

from microseg.errors import InputError


def stroke_mask(shape: tuple[int, int], path: Sequence[Sequence[float]] | np.ndarray,
                radius: float) -> np.ndarray:
    """Boolean mask of the pixels within ``radius`` (pixels) of the polyline ``path``
    ``(N, 2)`` of ``(y, x)`` points (one point: a disc).

    >>> stroke_mask((3, 7), [(1, 1), (1, 5)], 0).astype(int)
    array([[0, 0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 1, 1, 0],
           [0, 0, 0, 0, 0, 0, 0]])
    """
    from skimage.draw import line

    points = np.round(np.asarray(path, dtype=np.float64).reshape(-1, 2)).astype(np.int64)
    if not len(points):
        raise InputError(None, "a brush stroke needs at least one point")
    if radius < 0:
        raise InputError(None, f"brush radius must be >= 0, got {radius}")
    reach = int(np.ceil(radius))
    low = np.maximum(points.min(axis=0) - reach, 0)
    high = np.minimum(points.max(axis=0) + reach + 1, shape)
    mask = np.zeros(shape, bool)
    if np.any(high <= low):
        return mask                                   # the stroke lies outside the image
    centre = np.zeros(tuple(high - low), bool)
    local = points - low
    for (y0, x0), (y1, x1) in zip(local, local[1:] if len(local) > 1 else local):
        rows, columns = line(y0, x0, y1, x1)
        keep = (rows >= 0) & (rows < centre.shape[0]) & (columns >= 0) & \
            (columns < centre.shape[1])
        centre[rows[keep], columns[keep]] = True
    if not centre.any():
        return mask
    mask[low[0]:high[0], low[1]:high[1]] = ndi.distance_transform_edt(~centre) <= radius
    return mask


def paint(labels: np.ndarray, path: Sequence[Sequence[float]] | np.ndarray, radius: float,
          value: int, *, overwrite: bool = False) -> np.ndarray:
    """``labels`` with the stroke (:func:`stroke_mask`) painted as object ``value``; pixels of
    other objects keep theirs unless ``overwrite``."""
    labels = _labels(labels)
    stroke = stroke_mask(labels.shape, path, radius)
    if not overwrite:
        stroke &= (labels == 0) | (labels == value)
    out = labels.copy()
    out[stroke] = value
    return out


def erase(labels: np.ndarray, path: Sequence[Sequence[float]] | np.ndarray, radius: float,
          only: int | None = None) -> np.ndarray:
    """``labels`` with the stroke set to background (only object ``only``'s pixels when
    given)."""
    labels = _labels(labels)
    stroke = stroke_mask(labels.shape, path, radius)
    if only is not None:
        stroke &= labels == only
    out = labels.copy()
    out[stroke] = 0
    return out


def add_object(labels: np.ndarray, mask: np.ndarray, *,
               overwrite: bool = False) -> tuple[np.ndarray, int]:
    """Commit ``mask`` (boolean, same shape) as a new object → ``(labels, its id)``, the id one
    above the largest; pixels of other objects keep theirs unless ``overwrite``. An empty mask
    (or one fully covered) adds nothing and returns id 0."""
    labels = _labels(labels)
    mask = np.asarray(mask, bool)
    if mask.shape != labels.shape:
        raise InputError(None, f"mask shape {mask.shape} differs from the labels' "
                               f"{labels.shape}")
    if not overwrite:
        mask = mask & (labels == 0)
    if not mask.any():
        return labels.copy(), 0
    new = int(labels.max(initial=0)) + 1
    out = labels.astype(np.uint32) if new >= 2**16 and labels.dtype.itemsize < 4 else \
        labels.copy()
    out[mask] = new
    return out, new


def _labels(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype.kind not in "iu":
        raise InputError(None, f"labels must be an integer image (Y, X), got {labels.dtype} "
                               f"{labels.shape}")
    return labels
