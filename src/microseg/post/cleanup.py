"""Clean-up steps shared by every maps → instances method: small-object removal, hole filling,
consecutive relabelling. 2D ``(Y, X)`` and 3D ``(Z, Y, X)`` label images, 0 = background."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import relabel_sequential

from microseg.io.images import as_labels


def remove_small_objects(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Set every object with fewer than ``min_size`` pixels (voxels) to background (new array)."""
    if min_size <= 1:
        return labels.copy()
    sizes = np.bincount(labels.ravel())
    small = sizes < min_size
    small[0] = False
    out = labels.copy()
    out[small[labels]] = 0
    return out


def fill_holes(labels: np.ndarray) -> np.ndarray:
    """Fill background regions that are completely enclosed by a single object with that object.

    A background component that touches the image border is never a hole; one enclosed by two or
    more different objects is left as background (it is a gap between cells, not a hole).
    """
    background = labels == 0
    holes, n_holes = ndi.label(background)
    if n_holes == 0:
        return labels.copy()
    border = np.zeros(labels.shape, dtype=bool)
    for axis in range(labels.ndim):
        index = [slice(None)] * labels.ndim
        index[axis] = slice(0, 1)
        border[tuple(index)] = True
        index[axis] = slice(-1, None)
        border[tuple(index)] = True
    touching = np.unique(holes[border & background])
    # labels found on the one-pixel rim outside each hole component
    rim = ndi.grey_dilation(holes, size=(3,) * labels.ndim) * (~background)
    pairs = np.unique(np.stack([rim[rim > 0], labels[rim > 0]]), axis=1)
    hole_ids, counts = np.unique(pairs[0], return_counts=True)
    fill = np.zeros(n_holes + 1, dtype=labels.dtype)
    single = hole_ids[counts == 1]
    owner = dict(zip(pairs[0].tolist(), pairs[1].tolist()))
    fill[single] = [owner[h] for h in single.tolist()]
    fill[touching] = 0
    fill[0] = 0
    out = labels.copy()
    out[background] = fill[holes[background]]
    return out


def finalize_labels(labels: np.ndarray, min_size: int = 0, fill: bool = False) -> np.ndarray:
    """Optional hole filling and size filter, then consecutive ids as uint16 (uint32 if needed)."""
    if fill:
        labels = fill_holes(labels)
    if min_size > 1:
        labels = remove_small_objects(labels, min_size)
    relabelled, _, _ = relabel_sequential(np.asarray(labels))
    return as_labels(relabelled)
