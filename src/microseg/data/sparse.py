"""Sparse ground truth: find the pixels whose label is unknown, so a loss can skip them.

Cell Tracking Challenge SEG annotations are often sparse (e.g. Fluo-N2DH-GOWT1 labels only some
nuclei on 30 of 92 frames), while the TRA markers cover every cell of every frame. Treating the
unlabelled cells as background would teach a network to miss cells, so they are ignored instead.

Rule (:func:`unannotated_mask`): a TRA marker that overlaps no SEG object marks an unannotated
cell. Markers are usually smaller than the cell they mark, so each such marker is grown by

    radius = margin + max(0, (D_ref - D_marker) / 2)

pixels, where ``D_marker`` is the marker's equivalent diameter and ``D_ref`` the median equivalent
diameter of the SEG objects in the same frame (0 when the frame has none), i.e. the marker is
grown to the size of a typical annotated cell plus a safety ``margin``. Every pixel within that
radius of its nearest unannotated-marker pixel is ignored, except pixels that belong to a SEG
object (their label is known). Distances are in pixels along every axis.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from microseg.data.rescale import equivalent_diameters, median_diameter
from microseg.errors import InputError


def unannotated_mask(seg: np.ndarray, markers: np.ndarray, margin: float = 3.0) -> np.ndarray:
    """Bool mask (shape of ``seg``) of the pixels of cells that have a TRA marker but no SEG label.

    ``seg``: instance labels ``(Y, X)`` or ``(Z, Y, X)``; ``markers``: TRA marker labels of the same
    frame and shape; ``margin``: extra growth in pixels (≥ 0). See the module docstring for the rule.
    """
    seg, markers = np.asarray(seg), np.asarray(markers)
    if seg.shape != markers.shape:
        raise InputError(None, f"TRA markers {markers.shape} and SEG {seg.shape} differ in shape")
    if margin < 0:
        raise InputError(None, f"ignore margin must be ≥ 0 pixels, got {margin}")
    annotated = seg > 0
    ids = np.unique(markers)
    ids = ids[ids > 0]
    matched = np.unique(markers[annotated & (markers > 0)])
    unmatched = np.setdiff1d(ids, matched)
    if unmatched.size == 0:
        return np.zeros(seg.shape, dtype=bool)
    reference = median_diameter(seg)
    reference = 0.0 if np.isnan(reference) else reference
    lookup = np.zeros(int(markers.max()) + 1, dtype=np.int64)
    lookup[unmatched] = unmatched
    kept = lookup[markers]  # unannotated markers only, others → 0
    diameters = np.zeros(lookup.size, dtype=np.float64)
    present = np.flatnonzero(np.bincount(kept.ravel(), minlength=lookup.size)[1:]) + 1
    diameters[present] = equivalent_diameters(kept)
    radius = margin + np.maximum(0.0, (reference - diameters) / 2.0)
    distance, nearest = ndimage.distance_transform_edt(kept == 0, return_indices=True)
    nearest_id = kept[tuple(nearest)]
    return (distance <= radius[nearest_id]) & ~annotated
