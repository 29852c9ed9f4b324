"""XB-Net tertiary target: background 0 / boundary 1 / cell 2 (004_a42a17ce25b44d71.txt,
Algorithm 1).

Algorithm 1 loops over cells; for cell ``i`` with mask ``M``:

1. ``dilate(M, dilation) & background`` → boundary (the band of background around the cell);
2. ``M`` → cell;
3. pixels of ``M - erode(M, erosion)`` (the rim) that have another cell within the
   ``(2·erosion + 1)``-wide window around them → boundary.

Every write touches either background pixels (set to boundary) or the cell's own pixels, so the
result does not depend on the order of the cells and all cells can be done at once:
the union of the per-cell dilations is the dilation of the foreground, the rim is found with
label-aware minimum / maximum filters, and so is "another cell nearby". Dilation and erosion use
the face-neighbour cross iterated (as ``scipy.ndimage`` does by default); erosion treats the
outside of the image as background, as ``binary_erosion`` does.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage as ndi

from microseg.config import Whole
from microseg.targets.base import Target, register
from microseg.targets.neighbourhood import box_size, cross, differs_nearby

BACKGROUND, BOUNDARY, CELL = 0, 1, 2


def default_dilation(ndim: int) -> int:
    """The paper's dilation iterations: 2 for 2D datasets, 5 for 3D ones."""
    return 2 if ndim == 2 else 5


@register
@dataclasses.dataclass(frozen=True)
class ThreeClass(Target):
    """Background / boundary / cell classes, int64 ``(Y, X)`` or ``(Z, Y, X)``.

    Args:
        dilation: iterations of the dilation that makes the background band; ``None`` picks the
            paper's values, 2 for ``(Y, X)`` labels and 5 for ``(Z, Y, X)``.
        erosion: iterations of the erosion that makes the rim, also the half-width of the window
            searched for another cell (paper: 2).
        in_plane: for ``(Z, Y, X)`` labels, work slice by slice as XB-Net does with its planar
            network (no neighbours along Z).

    >>> labels = np.zeros((1, 8), np.uint16); labels[0, 2:4] = 1; labels[0, 4:6] = 2
    >>> ThreeClass(dilation=1, erosion=1)(labels)[0].tolist()
    [0, 1, 2, 1, 1, 2, 1, 0]
    """

    name = "three_class"
    kind = "classes"
    channels = 3

    dilation: Whole | None = None
    erosion: Whole = 2
    in_plane: bool = False

    def compute(self, labels: np.ndarray) -> np.ndarray:
        dilation = self.dilation if self.dilation is not None else default_dilation(labels.ndim)
        foreground = labels > 0
        neighbours = cross(labels.ndim, self.in_plane)
        out = np.where(foreground, CELL, BACKGROUND).astype(np.int64)
        if dilation > 0:
            band = ndi.binary_dilation(foreground, neighbours, iterations=dilation) & ~foreground
            out[band] = BOUNDARY
        if self.erosion > 0:
            rim = differs_nearby(labels, footprint=neighbours, iterations=self.erosion,
                                 outside=True)
            touching = differs_nearby(labels, size=box_size(labels.ndim, self.erosion,
                                                            self.in_plane),
                                      count_background=False)
            out[foreground & rim & touching] = BOUNDARY
        return out
