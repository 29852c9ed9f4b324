"""Cell-centre heatmap for the EfficientCellSeg centre model (000_5abd7b7a9a6a67a4.txt): a
Gaussian at every cell centre, trained with a focal loss and used as watershed markers."""
from __future__ import annotations

import dataclasses
import math
from functools import reduce

import numpy as np

from microseg.config import Positive
from microseg.targets.base import Target, register
from microseg.targets.neighbourhood import label_centroids, label_sizes


@register
@dataclasses.dataclass(frozen=True)
class CenterHeatmap(Target):
    """Centre heatmap float32 ``(1, *spatial)``, values in ``[0, 1]``.

    Each cell adds ``exp(-d² / 2σ²)`` around its centroid rounded to the nearest pixel (so every
    cell has exactly one pixel equal to 1); overlapping Gaussians combine by maximum. ``σ`` is
    ``sigma_scale`` times the cell's equivalent radius (the radius of a disk of the same area, of
    a ball of the same volume in 3D), but at least ``min_sigma`` pixels. Gaussians are drawn
    within ``truncate·σ`` of the centre and are not limited to the cell.

    Args:
        sigma_scale: σ as a fraction of the equivalent radius (1/3: about 0.01 at the cell edge).
        min_sigma: smallest σ in pixels.
        truncate: half-width of the drawn window in units of σ.
    """

    name = "center_heatmap"
    kind = "maps"
    channels = 1

    sigma_scale: Positive = 1 / 3
    min_sigma: Positive = 1.0
    truncate: Positive = 3.0

    def compute(self, labels: np.ndarray) -> np.ndarray:
        sizes = label_sizes(labels)
        ids = np.flatnonzero(sizes[1:]) + 1
        centres = np.rint(label_centroids(labels, sizes)[ids]).astype(np.int64)
        unit = math.pi if labels.ndim == 2 else 4 * math.pi / 3
        radii = (sizes[ids] / unit) ** (1.0 / labels.ndim)
        sigmas = np.maximum(self.sigma_scale * radii, self.min_sigma)
        out = np.zeros(labels.shape, dtype=np.float32)
        for centre, sigma in zip(centres, sigmas):
            half = int(math.ceil(self.truncate * sigma))
            window, profiles = [], []
            for c, n in zip(centre, labels.shape):
                start, stop = max(c - half, 0), min(c + half + 1, n)
                offsets = np.arange(start - c, stop - c, dtype=np.float32)
                window.append(slice(start, stop))
                profiles.append(np.exp(-offsets ** 2 / (2 * sigma ** 2)))
            np.maximum(out[tuple(window)], reduce(np.multiply.outer, profiles),
                       out=out[tuple(window)])
        return out
