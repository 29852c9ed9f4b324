"""``nuclei3d``: fluorescent nuclei as ellipsoids in an anisotropic (Z, Y, X) stack."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from microseg.config import Range, check_fields
from microseg.data.synthetic.base import Synthetic, check_shape, registered
from microseg.data.synthetic.render import Camera, fluorescence, texture
from microseg.data.synthetic.shapes import (Canvas, Placement, Proposal, ellipsoid, ellipsoid_mask,
                                            fill, next_centre, target_count)
from microseg.io.images import as_labels


@dataclass
class Nuclei3DConfig(Placement, Camera):
    """Parameters of :func:`nuclei3d` (see :class:`Placement` and :class:`Camera` for the rest;
    ``diameter`` and ``blur`` are lateral, in xy px).

    ``shape``: ``(Z, Y, X)`` voxels. ``anisotropy``: z spacing / xy spacing (a nucleus spans
    ``anisotropy`` times fewer slices than pixels across). ``falloff``: relative intensity lost at
    the top and bottom of a nucleus. ``axial_blur``: axial / lateral PSF width, physical units.
    ``coverage`` is a volume fraction here.
    """

    shape: tuple[int, int, int] = (32, 128, 128)
    diameter: Annotated[float, Range(4, 1e4)] = 14.0
    coverage: Annotated[float, Range(0, 1)] = 0.15
    cluster: Annotated[float, Range(0, 1)] = 0.3
    max_aspect: Annotated[float, Range(1, 10)] = 1.5
    anisotropy: Annotated[float, Range(0.1, 20)] = 3.0
    falloff: Annotated[float, Range(0, 1)] = 0.6
    axial_blur: Annotated[float, Range(0, 20)] = 2.5
    texture: Annotated[float, Range(0, 1)] = 0.1

    def __post_init__(self) -> None:
        self.shape = check_shape("nuclei3d", self.shape, (3,), minimum=4)
        check_fields(self, "synthetic nuclei3d")


@registered("nuclei3d", Nuclei3DConfig)
def nuclei3d(config: Nuclei3DConfig, rng: np.random.Generator) -> Synthetic:
    """Fluorescent nuclei as randomly oriented ellipsoids in a stack whose z spacing is
    ``anisotropy`` times the xy spacing, some touching or overlapping (a later nucleus covers an
    earlier one; every nucleus stays one piece with at least ``min_visible`` of its volume). The
    intensity falls off towards the top and bottom of each nucleus; the PSF is longer in z.

    Returns :class:`Synthetic` with ``image`` ``(Z, Y, X)`` uint16, ``labels`` ``(Z, Y, X)``
    uint16 and the drawn ``ellipsoids`` (voxel units).
    """
    shape, aniso = config.shape, config.anisotropy
    spacing = np.array([1.0 / aniso, 1.0, 1.0])
    volume = np.pi / 6.0 * config.diameter ** 3 / aniso
    canvas = Canvas(shape, config.min_visible)

    def propose(centres: list[np.ndarray]) -> Proposal:
        centre = next_centre(rng, centres, shape, config.diameter * spacing, config)
        ell = ellipsoid(rng, centre, config.diameter, config.max_aspect, aniso)
        return centre, ell, ellipsoid_mask(ell, shape)

    n = target_count(config, float(np.prod(shape)), volume)
    ellipsoids = fill(canvas, n, propose, min_area=0.2 * volume)
    labels = canvas.labels

    centre_z = np.array([0.0] + [e.centre[0] for e in ellipsoids])
    half_z = np.array([1.0] + [np.sqrt(np.linalg.inv(e.matrix)[0, 0]) for e in ellipsoids])
    z = np.arange(shape[0])[:, None, None]
    profile = 1.0 - config.falloff * np.clip((z - centre_z[labels]) / half_z[labels], -1, 1) ** 2
    brightness = np.concatenate([[0.0], rng.uniform(0.5, 1.0, len(ellipsoids))])
    signal = brightness[labels] * profile
    signal *= 1.0 + config.texture * texture(rng, shape, 1.5 * spacing)
    sigma = (config.blur * config.axial_blur / aniso, config.blur, config.blur)
    image = fluorescence(signal, rng, config, sigma, np.array(shape) / 2)
    return Synthetic(image, as_labels(labels), ellipsoids=tuple(ellipsoids))
