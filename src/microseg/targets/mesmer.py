"""Mesmer / DeepCell semantic heads (003_80803871fb41d8b2.txt): inner distance, outer distance
and the pixel-wise interior / edge / background classes. (The fg/bg head is
:class:`microseg.targets.masks.FgBg`.)"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import ball, disk

from microseg.config import Positive, Whole
from microseg.targets.base import Target, register
from microseg.targets.neighbourhood import cross, differs_nearby, label_centroids, label_sizes


@register
@dataclasses.dataclass(frozen=True)
class InnerDistance(Target):
    """Inner distance transform float32 ``(1, *spatial)``: ``1 / (1 + a·b·r)`` on cell pixels,
    0 on background.

    ``r`` is the Euclidean distance (pixels) from the pixel to its cell's centroid and
    ``a = 1 / √A`` with ``A`` the cell area, so the map is 1 at the centroid and falls off at a
    rate set by the cell size; in 3D ``a = 1 / ∛V`` (V the volume in voxels).

    Args:
        b: the paper's hyper-parameter ``b`` (1 in Mesmer and in 003).
    """

    name = "inner_distance"
    kind = "maps"
    channels = 1

    b: Positive = 1.0

    def compute(self, labels: np.ndarray) -> np.ndarray:
        sizes = label_sizes(labels)
        centroids = label_centroids(labels, sizes)
        cells = labels > 0
        ids = labels[cells]
        squared = np.zeros(ids.size)
        for axis, coords in enumerate(np.nonzero(cells)):
            squared += (coords - centroids[ids, axis]) ** 2
        scale = sizes[ids] ** (1.0 / labels.ndim)
        out = np.zeros(labels.shape, dtype=np.float32)
        out[cells] = 1.0 / (1.0 + self.b * np.sqrt(squared) / scale)
        return out


@register
@dataclasses.dataclass(frozen=True)
class OuterDistance(Target):
    """Outer distance transform float32 ``(1, *spatial)``: on each cell, the Euclidean distance
    from a pixel to the nearest pixel outside that cell (background or another cell), divided by
    the cell's largest such distance; 0 on background.

    Values lie in ``(0, 1]``: about ``1/d_max`` on the cell's edge and 1 at its innermost pixels.
    Pixels outside the image do not count as outside the cell (as with a distance transform of
    the whole image). A cell that fills the whole image gets 1 everywhere.
    """

    name = "outer_distance"
    kind = "maps"
    channels = 1

    def compute(self, labels: np.ndarray) -> np.ndarray:
        out = np.zeros(labels.shape, dtype=np.float32)
        for index, box in enumerate(ndi.find_objects(labels), start=1):
            if box is None:
                continue
            # the nearest pixel outside a cell touches the cell, so one pixel of margin suffices
            box = tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n))
                        for s, n in zip(box, labels.shape))
            inside = labels[box] == index
            distance = (ndi.distance_transform_edt(inside) if not inside.all()
                        else np.ones(inside.shape))
            out[box][inside] = distance[inside] / distance.max()
        return out


@register
@dataclasses.dataclass(frozen=True)
class Pixelwise(Target):
    """Mesmer pixel-wise head: classes 0 = background, 1 = edge, 2 = interior, int64
    ``(*spatial)`` (DeepCell orders its channels edge, interior, background; the indices here
    match :class:`~microseg.targets.three_class.ThreeClass`).

    Edge pixels are the cell pixels that a one-step erosion of their cell removes, i.e. that have
    a face neighbour of another label (background or another cell); the image border does not
    erode. With ``dilation_radius`` the edges are dilated by a disk (ball in 3D) of that radius
    into the background (never into interiors).

    Args:
        dilation_radius: radius (pixels) by which the edges are thickened; 0 leaves them thin.
    """

    name = "pixelwise"
    kind = "classes"
    channels = 3

    dilation_radius: Whole = 0

    def compute(self, labels: np.ndarray) -> np.ndarray:
        cells = labels > 0
        edge = cells & differs_nearby(labels, footprint=cross(labels.ndim))
        interior = cells & ~edge
        if self.dilation_radius > 0:
            shape = disk if labels.ndim == 2 else ball
            edge = ndi.binary_dilation(edge, shape(self.dilation_radius).astype(bool)) & ~interior
        out = np.zeros(labels.shape, dtype=np.int64)
        out[edge] = 1
        out[interior] = 2
        return out
