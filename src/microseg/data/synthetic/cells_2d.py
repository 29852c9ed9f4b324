"""``cells2d``: irregular whole cells in a phase-contrast-like image (bright halo, dark interior)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from scipy import ndimage

from microseg.config import Range, check_fields
from microseg.data.synthetic.base import Synthetic, check_shape, registered
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
    diameter: Annotated[float, Range(4, 1e4)] = 32.0
    coverage: Annotated[float, Range(0, 1)] = 0.45
    cluster: Annotated[float, Range(0, 1)] = 0.8
    min_visible: Annotated[float, Range(0.05, 1)] = 0.7
    max_aspect: Annotated[float, Range(1, 10)] = 2.0
    irregularity: Annotated[float, Range(0, 1)] = 0.35
    halo: Annotated[float, Range(0, 0.5)] = 0.3
    halo_width: Annotated[float, Range(0.1, 50)] = 2.0
    interior: Annotated[float, Range(0, 0.5)] = 0.15
    granules: Annotated[float, Range(0, 0.5)] = 0.06
    blur: Annotated[float, Range(0, 50)] = 0.8
    noise: Annotated[float, Range(0, 1)] = 0.03

    def __post_init__(self) -> None:
        self.shape = check_shape("cells2d", self.shape, (2,))
        check_fields(self, "synthetic cells2d")


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
