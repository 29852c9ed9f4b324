"""Mask targets: foreground (``binary`` map, ``fgbg`` classes) and the EM membrane map
(``boundary``)."""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage as ndi

from microseg.config import Whole
from microseg.targets.base import Target, register
from microseg.targets.neighbourhood import cross, differs_nearby


def foreground(labels: np.ndarray, erosion_width: int) -> np.ndarray:
    """Cell pixels, each cell eroded by ``erosion_width`` face-neighbour steps where it meets
    background or another cell (so touching cells come apart); the image border does not erode.
    """
    mask = labels > 0
    if erosion_width > 0:
        mask &= ~differs_nearby(labels, footprint=cross(labels.ndim), iterations=erosion_width)
    return mask


@register
@dataclasses.dataclass(frozen=True)
class Binary(Target):
    """Foreground probability map float32 ``(1, *spatial)``: 1 on cells, 0 on background, for
    sigmoid outputs (BCE / Dice).

    Args:
        erosion_width: erode each cell by this many pixels first (separates touching cells).
    """

    name = "binary"
    kind = "maps"
    channels = 1

    erosion_width: Whole = 0

    def compute(self, labels: np.ndarray) -> np.ndarray:
        return foreground(labels, self.erosion_width)


@register
@dataclasses.dataclass(frozen=True)
class FgBg(Binary):
    """Mesmer / DeepCell foreground-background head: classes 0 = background, 1 = foreground,
    int64 ``(*spatial)`` for softmax cross-entropy (003_80803871fb41d8b2.txt). Same mask and
    ``erosion_width`` (DeepCell's name) as :class:`Binary`.
    """

    name = "fgbg"
    kind = "classes"
    channels = 2


@register
@dataclasses.dataclass(frozen=True)
class Boundary(Target):
    """Membrane / boundary map float32 ``(1, *spatial)`` as trained on for EM (RC-SPCNet,
    001_8efe375831c61076.txt): 1 on boundaries, 0 inside objects.

    Boundary pixels are the object pixels that touch (face neighbours) a different object and,
    with ``background_is_boundary`` (EM labels, where 0 is the membrane), every background pixel;
    otherwise (fluorescence labels, where 0 is empty space) object pixels touching background are
    boundary too and background stays 0. The result is then dilated ``dilation`` times.

    Args:
        background_is_boundary: label 0 marks membrane rather than empty space.
        dilation: iterations of a face-neighbour dilation to thicken the boundary.
        in_plane: for ``(Z, Y, X)`` stacks, find and thicken boundaries within each slice only
            (anisotropic EM).
    """

    name = "boundary"
    kind = "maps"
    channels = 1

    background_is_boundary: bool = True
    dilation: Whole = 0
    in_plane: bool = False

    def compute(self, labels: np.ndarray) -> np.ndarray:
        neighbours = cross(labels.ndim, self.in_plane)
        cells = labels > 0
        edge = cells & differs_nearby(labels, footprint=neighbours,
                                      count_background=not self.background_is_boundary)
        if self.background_is_boundary:
            edge |= ~cells
        if self.dilation > 0:
            edge = ndi.binary_dilation(edge, neighbours, iterations=self.dilation)
        return edge
