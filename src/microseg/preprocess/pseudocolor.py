"""Context Aware Pseudocoloring (EfficientCellSeg, 000_5abd7b7a9a6a67a4.txt §2.2).

A 3D stack is segmented slice by slice by a 2D model; each slice ``z`` is turned into a three-channel
image that carries rough cell positions of its neighbours: red = slice ``z`` plus slice ``z`` masked by
the regions of interest of ``z − 1``, green = slice ``z``, blue = the same with ``z + 1``.
"""
from __future__ import annotations

import numpy as np
from skimage.exposure import equalize_adapthist
from skimage.filters import threshold_otsu

from microseg.errors import InputError
from microseg.preprocess.normalize import normalize_percentile


def rough_rois(stack: np.ndarray, clip_limit: float = 0.01) -> np.ndarray:
    """CLAHE each slice of a ``(Z, Y, X)`` stack, then threshold it (Otsu) → bool ``(Z, Y, X)``."""
    unit = np.clip(normalize_percentile(stack, 0.0, 100.0), 0.0, 1.0)
    rois = np.zeros(stack.shape, dtype=bool)
    for z, plane in enumerate(unit):
        if plane.max() > plane.min():
            equalised = equalize_adapthist(plane, clip_limit=clip_limit)
            rois[z] = equalised > threshold_otsu(equalised)
    return rois


def context_pseudocolor(stack: np.ndarray, clip_limit: float = 0.01) -> np.ndarray:
    """Pseudocolour every slice of ``stack`` ``(Z, Y, X)`` → float32 ``(Z, 3, Y, X)`` in [0, 1].

    Channel order R, G, B = context from ``z − 1``, slice ``z``, context from ``z + 1``. The first
    and last slices have no neighbour on one side; that channel then equals the green one. Each
    pseudocolour slice is divided by its own maximum (a blank slice stays zero).
    """
    stack = np.asarray(stack)
    if stack.ndim != 3:
        raise InputError(None, f"pseudocolouring needs a (Z, Y, X) stack, got shape {stack.shape}")
    green = np.clip(normalize_percentile(stack, 0.0, 100.0), 0.0, 1.0)
    rois = rough_rois(stack, clip_limit)
    previous = np.zeros_like(rois)
    previous[1:] = rois[:-1]
    following = np.zeros_like(rois)
    following[:-1] = rois[1:]
    out = np.stack([green + previous * green, green, green + following * green], axis=1)
    peak = out.max(axis=(1, 2, 3), keepdims=True)
    return np.divide(out, peak, out=np.zeros_like(out), where=peak > 0).astype(np.float32)
