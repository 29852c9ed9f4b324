"""Clean-up steps shared by every maps → instances method: small-object removal, hole filling,
consecutive relabelling. 2D ``(Y, X)`` and 3D ``(Z, Y, X)`` label images, 0 = background."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from microseg.post.label_kernels import label_sizes


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
    out = labels.copy()
    background = labels == 0
    holes, n_holes = ndi.label(background)
    if n_holes == 0:
        return out
    border = np.zeros(n_holes + 1, dtype=bool)
    for axis in range(labels.ndim):
        border[np.take(holes, 0, axis=axis)] = True
        border[np.take(holes, -1, axis=axis)] = True
    structure = ndi.generate_binary_structure(labels.ndim, labels.ndim)
    # holes are few and small: look at each one inside its bounding box grown by one pixel
    for hole_id, box in enumerate(ndi.find_objects(holes), start=1):
        if box is None or border[hole_id]:
            continue
        grown = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in box)
        hole = holes[grown] == hole_id
        rim = ndi.binary_dilation(hole, structure) & ~hole
        owners = np.unique(labels[grown][rim])
        owners = owners[owners > 0]
        if len(owners) == 1 and not (labels[grown][rim] == 0).any():
            out[grown][hole] = owners[0]
    return out


def finalize_labels(labels: np.ndarray, min_size: int = 0, fill: bool = False) -> np.ndarray:
    """Optional hole filling and size filter, then consecutive ids as uint16 (uint32 if needed).

    Ids keep their order: the object with the smallest old id becomes 1.
    """
    labels = np.asarray(labels)
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be >= 0")
    if fill:
        labels = fill_holes(labels)
    labels = np.ascontiguousarray(labels)
    sizes = label_sizes(labels.ravel(), int(labels.max(initial=0)) + 1)
    keep = sizes >= max(min_size, 1)
    keep[0] = False
    new_ids = np.cumsum(keep) * keep
    dtype = np.uint16 if new_ids[-1] <= np.iinfo(np.uint16).max else np.uint32
    return new_ids.astype(dtype)[labels]
