"""Label-aware neighbourhood operations, vectorised over all cells at once.

Per-cell morphology (erode this cell, does this pixel touch another cell, …) is done with grey
minimum / maximum filters over the label image instead of a loop over cells: a pixel of cell ``i``
sees a different label in its neighbourhood exactly when the neighbourhood minimum is below ``i``
or the maximum above it. Works for ``(Y, X)`` and ``(Z, Y, X)``; ``in_plane=True`` restricts
neighbourhoods of 3D stacks to their own slice.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def cross(ndim: int, in_plane: bool = False) -> np.ndarray:
    """Footprint of the face neighbours (4-neighbourhood in 2D, 6 in 3D) plus the centre.

    With ``in_plane`` and ``ndim == 3`` the two neighbours along Z are left out.
    """
    footprint = ndi.generate_binary_structure(ndim, 1)
    if in_plane and ndim == 3:
        footprint[0] = footprint[2] = False
    return footprint


def box_size(ndim: int, radius: int, in_plane: bool = False) -> tuple[int, ...]:
    """Size of the cube (square) of half-width ``radius``; one slice thick with ``in_plane``."""
    size = [2 * radius + 1] * ndim
    if in_plane and ndim == 3:
        size[0] = 1
    return tuple(size)


def differs_nearby(labels: np.ndarray, *, footprint: np.ndarray | None = None,
                   size: tuple[int, ...] | None = None, iterations: int = 1,
                   count_background: bool = True, outside: bool = False) -> np.ndarray:
    """Mask of the pixels whose neighbourhood holds a label other than their own.

    Args:
        labels: label image ``(Y, X)`` or ``(Z, Y, X)``, unsigned integers.
        footprint: neighbourhood as a boolean array (give this or ``size``), applied
            ``iterations`` times (a cross applied twice is a diamond of radius 2).
        size: neighbourhood as a box size (separable, fastest), applied ``iterations`` times.
        count_background: whether label 0 counts as a different label. When false only other
            cells count (and background pixels are marked when a cell lies in their neighbourhood).
        outside: whether positions outside the image count as background (like
            ``scipy.ndimage.binary_erosion`` with ``border_value=0``). Otherwise neighbourhoods are
            clipped at the image border.
    Returns:
        Boolean array, same shape as ``labels``.
    """
    if (footprint is None) == (size is None):
        raise ValueError("give exactly one of footprint and size")
    top = np.iinfo(labels.dtype).max
    low_source = labels if count_background else np.where(labels == 0, top, labels)
    low_cval = 0 if count_background else top
    mode = "constant" if outside else "nearest"
    low, high = low_source, labels
    for _ in range(iterations):
        low = ndi.minimum_filter(low, size=size, footprint=footprint, mode=mode, cval=low_cval)
        high = ndi.maximum_filter(high, size=size, footprint=footprint, mode=mode, cval=0)
    return (low < labels) | (high > labels)


def label_sizes(labels: np.ndarray) -> np.ndarray:
    """Pixel count of every label id ``0 … labels.max()`` as float64 ``(N + 1,)``."""
    return np.bincount(labels.ravel()).astype(np.float64)


def label_centroids(labels: np.ndarray, sizes: np.ndarray | None = None) -> np.ndarray:
    """Centroid (pixel units, array axis order) of every label id: float64 ``(N + 1, ndim)``.

    Ids that do not occur get NaN.
    """
    if sizes is None:
        sizes = label_sizes(labels)
    flat = labels.ravel()
    centroids = np.empty((sizes.size, labels.ndim))
    with np.errstate(invalid="ignore", divide="ignore"):
        for axis in range(labels.ndim):
            shape = [1] * labels.ndim
            shape[axis] = labels.shape[axis]
            coords = np.broadcast_to(
                np.arange(labels.shape[axis], dtype=np.float64).reshape(shape), labels.shape)
            centroids[:, axis] = np.bincount(flat, weights=coords.ravel(),
                                             minlength=sizes.size) / sizes
    return centroids


def between_cells(labels: np.ndarray, radius: int, in_plane: bool = False) -> np.ndarray:
    """Mask of the pixels whose box of half-width ``radius`` holds two or more different cells
    (nonzero labels): the rims of touching cells and the narrow gaps between close ones.
    Background counts for nothing; the box is clipped at the image border."""
    size = box_size(labels.ndim, radius, in_plane)
    top = np.iinfo(labels.dtype).max
    lowest = ndi.minimum_filter(np.where(labels == 0, top, labels), size=size, mode="nearest")
    highest = ndi.maximum_filter(labels, size=size, mode="nearest")
    return lowest < highest
