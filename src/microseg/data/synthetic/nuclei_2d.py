"""``nuclei2d``: fluorescent nuclei, some touching or overlapping, on an uneven background."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from microseg.config import Range, check_fields
from microseg.data.synthetic.base import Synthetic, check_shape, registered
from microseg.data.synthetic.render import Camera, fluorescence, texture
from microseg.data.synthetic.shapes import Placement, draw_outlines
from microseg.io.images import as_labels


@dataclass
class Nuclei2DConfig(Placement, Camera):
    """Parameters of :func:`nuclei2d` (see :class:`Placement` and :class:`Camera` for the rest).

    ``shape``: ``(Y, X)`` px. ``texture``: relative amplitude of the chromatin texture.
    """

    shape: tuple[int, int] = (256, 256)
    texture: Annotated[float, Range(0, 1)] = 0.15

    def __post_init__(self) -> None:
        self.shape = check_shape("nuclei2d", self.shape, (2,))
        check_fields(self, "synthetic nuclei2d")


@registered("nuclei2d", Nuclei2DConfig)
def nuclei2d(config: Nuclei2DConfig, rng: np.random.Generator) -> Synthetic:
    """Fluorescent nuclei: irregular ellipses, some touching or overlapping (a later nucleus covers
    an earlier one; every nucleus stays one piece with at least ``min_visible`` of its area), each
    with its own brightness in ``[0.5, 1]`` and a fine texture, blurred, on an uneven background,
    with Poisson and Gaussian camera noise.

    Returns :class:`Synthetic` with ``image`` ``(Y, X)`` uint16, ``labels`` ``(Y, X)`` uint16 and
    the drawn ``polygons``.
    """
    labels, polygons = draw_outlines(rng, config.shape, config)
    brightness = np.concatenate([[0.0], rng.uniform(0.5, 1.0, len(polygons))])
    signal = brightness[labels] * (1.0 + config.texture * texture(rng, config.shape, 1.5))
    image = fluorescence(signal, rng, config, config.blur, max(config.shape) / 2)
    return Synthetic(image, as_labels(labels), tuple(polygons))
