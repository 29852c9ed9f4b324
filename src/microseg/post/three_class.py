"""3-class maps (0 background / 1 boundary / 2 cell) → instances, as in XB-Net
(004_a42a17ce25b44d71.txt): connected components of the cell class, then clean-up.

The boundary class has two parts in the XB-Net target (:class:`~microseg.targets.ThreeClass`):
a band of background, ``dilation`` pixels wide, around every cell, and the rim of a cell where it
touches another cell. Growing cells into *all* boundary pixels would add the band, so
:func:`three_class_to_instances` grows them only into boundary pixels that lie near another cell's
territory (between touching cells) and farther than the band width from the background class
(every pixel of a true cell is), which gives touching cells their shared rim back and leaves lone
cells as they are.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from microseg.errors import InputError
from microseg.post.cleanup import finalize_labels
from microseg.post.geodesic import geodesic_territory, touches_other_label
from microseg.targets.neighbourhood import cross
from microseg.targets.three_class import BOUNDARY, CELL, default_dilation


def three_class_to_instances(probs_or_classes: np.ndarray, *, grow: bool = True,
                             contact_radius: int = 2, band: int | None = None,
                             min_size: int = 10,
                             fill_holes: bool = True) -> np.ndarray:
    """Instance labels from 3-class probabilities or a class map, 2D or 3D.

    Args:
        probs_or_classes: float probabilities (or logits) ``(3, Y, X)`` / ``(3, Z, Y, X)``, of
            which the argmax is taken, or an integer class map ``(Y, X)`` / ``(Z, Y, X)`` with
            values 0 (background), 1 (boundary), 2 (cell).
        grow: give boundary pixels to the nearest cell (city-block geodesic distance through
            the boundary class, :func:`~microseg.post.geodesic.geodesic_territory`) when they lie within ``contact_radius`` pixels
            (box neighbourhood) of another cell's territory, i.e. between touching cells, and
            more than ``band`` pixels (city-block) from the background class.
        contact_radius: half-width of that neighbourhood; the target's ``erosion`` (2) matches.
        band: width of the background band of the target, its ``dilation``; ``None`` takes the
            target's default, 2 for ``(Y, X)`` and 5 for ``(Z, Y, X)``.
        min_size: objects with fewer pixels (voxels) are removed.
        fill_holes: fill background enclosed by a single object.
    Returns:
        Consecutive labels, uint16 (uint32 when needed), 0 = background.
    """
    classes = _classes(probs_or_classes)
    cells = classes == CELL
    markers, _ = ndi.label(cells)
    labels = markers
    if grow and contact_radius > 0:
        foreground = classes > 0
        territory = geodesic_territory(markers, foreground)
        band = band if band is not None else default_dilation(classes.ndim)
        inner = foreground if band <= 0 else ndi.binary_erosion(
            foreground, cross(classes.ndim), iterations=band, border_value=1)
        contact = touches_other_label(territory, inner & (classes == BOUNDARY), contact_radius)
        labels = np.where(cells | contact, territory, 0)
    return finalize_labels(labels, min_size=min_size, fill=fill_holes)


def _classes(array: np.ndarray) -> np.ndarray:
    """Class map from probabilities ``(3, *spatial)`` (float) or a class map (integers)."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        if array.ndim not in (3, 4) or array.shape[0] != 3:
            raise InputError(None, f"3-class probabilities must be (3, Y, X) or (3, Z, Y, X), "
                                   f"got shape {array.shape}")
        return np.argmax(array, axis=0)
    if array.dtype.kind not in "iu":
        raise InputError(None, f"a 3-class map must hold integers or float probabilities, "
                               f"got dtype {array.dtype}")
    if array.ndim not in (2, 3):
        raise InputError(None, f"a 3-class map must be (Y, X) or (Z, Y, X), got shape "
                               f"{array.shape}")
    if array.size and (array.min() < 0 or array.max() > CELL):
        raise InputError(None, f"a 3-class map holds 0, 1, 2 only, found values "
                               f"{array.min()}..{array.max()}")
    return array
