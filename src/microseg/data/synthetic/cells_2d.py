"""``cells2d``: irregular whole cells in a phase-contrast-like image (bright halo, dark interior)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from microseg.data.synthetic.base import Synthetic, check_range, check_shape, registered
from microseg.data.synthetic.render import smooth_field, texture, to_uint
from microseg.data.synthetic.shapes import Placement, draw_outlines
from microseg.io.images import as_labels


@dataclass
class Cells2DConfig(Placement):
    """Parameters of :func:`cells2d` (see :class:`Placement` for the rest).

    ``shape``: ``(Y, X)`` px. ``halo``: brightness of the halo just outside a cell and
    ``halo_width`` its decay length (px). ``interior``: how much darker than the background a cell
    is; ``granules``: amplitude of the dark granular texture inside. ``blur``: optics sigma (px).
    ``noise``: Gaussian noise sigma. Intensities are relative to a background of 0.5.
    """

    shape: tuple[int, int] = (256, 256)
    diameter: float = 32.0
    coverage: float = 0.45
    cluster: float = 0.8
    min_visible: float = 0.7
    max_aspect: float = 2.0
    irregularity: float = 0.35
    halo: float = 0.3
    halo_width: float = 2.0
    interior: float = 0.15
    granules: float = 0.06
    blur: float = 0.8
    noise: float = 0.03

    def __post_init__(self) -> None:
        self.shape = check_shape("cells2d", self.shape, (2,))
        Placement.check(self, "cells2d")
        check_range("cells2d", halo=(self.halo, 0.0, 0.5), halo_width=(self.halo_width, 0.1, 50.0),
                    interior=(self.interior, 0.0, 0.5), granules=(self.granules, 0.0, 0.5),
                    blur=(self.blur, 0.0, 50.0), noise=(self.noise, 0.0, 1.0))


@registered("cells2d", Cells2DConfig)
def cells2d(config: Cells2DConfig, rng: np.random.Generator) -> Synthetic:
    """Whole cells with irregular star-convex outlines, mostly in touching clusters (a later cell
    covers an earlier one; every cell stays one piece with at least ``min_visible`` of its area),
    imaged like phase contrast: a bright halo outside each cell, a thin bright line where two
    cells touch, a darker interior with granular texture, blur and Gaussian noise.

    Returns :class:`Synthetic` with ``image`` ``(Y, X)`` uint16, ``labels`` ``(Y, X)`` uint16 and
    the drawn ``polygons``.
    """
    shape = config.shape
    labels, polygons = draw_outlines(rng, shape, config, n_harmonics=6)
    inside = labels > 0
    outside_distance = ndimage.distance_transform_edt(~inside)
    image = 0.5 + 0.05 * (smooth_field(rng, shape, max(shape) / 3) - 0.5)
    image += config.halo * np.exp(-(outside_distance - 1.0) / config.halo_width) * ~inside
    shade = np.concatenate([[0.0], rng.uniform(0.7, 1.3, len(polygons))])
    image -= config.interior * shade[labels]
    image -= config.granules * np.clip(texture(rng, shape, 1.0), 0.0, None) * inside
    image += 0.5 * config.halo * _contacts(labels)
    image = ndimage.gaussian_filter(image, config.blur) + rng.normal(0.0, config.noise, shape)
    return Synthetic(to_uint(image, np.uint16), as_labels(labels), tuple(polygons))


def _contacts(labels: np.ndarray) -> np.ndarray:
    """Pixels of a cell with a different cell (not background) among their 8 neighbours."""
    larger = ndimage.maximum_filter(labels, size=3) > labels
    no_background = np.where(labels > 0, labels, np.iinfo(labels.dtype).max)
    smaller = ndimage.minimum_filter(no_background, size=3) < labels
    return (labels > 0) & (larger | smaller)
