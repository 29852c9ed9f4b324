"""How far a network looks: the radius of its receptive field, measured on the network itself.

>>> radius = receptive_radius(predictor)           # doctest: +SKIP
>>> radius                                          # doctest: +SKIP
(108, 108)

Blockwise processing (:mod:`microseg.scale`) gives every block a halo at least this wide, so the
maps of a block's core see all the context the network would see in the whole image.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from microseg.infer.predictor import Predictor

#: Side of the first probe per spatial dimensionality, and the largest one tried.
FIRST_PROBE = {2: 128, 3: 32}
LARGEST_PROBE = {2: 2048, 3: 128}


def receptive_radius(predictor: "Predictor") -> tuple[int, ...]:
    """Pixels per spatial axis (on the network's grid) from an output pixel to the farthest
    input pixel it depends on.

    Measured, whatever the backend: the network runs on a random input and on the same input
    with its centre pixel changed; the outputs that differ are those whose receptive field holds
    the centre. The probe doubles in size (from :data:`FIRST_PROBE`) until that support stops
    short of its border, up to :data:`LARGEST_PROBE`, whose half is then returned (the network
    looks at least that far: global pooling, attention).
    """
    dims, size = predictor.dims, max(FIRST_PROBE[predictor.dims], predictor.divisor)
    rng = np.random.default_rng(0)
    while True:
        x = rng.random((1, predictor.in_channels) + (size,) * dims, dtype=np.float32)
        changed = x.copy()
        centre = size // 2
        changed[(0, slice(None)) + (centre,) * dims] += 1.0
        difference = np.abs(predictor.run(changed) - predictor.run(x)).max(axis=(0, 1)) > 0
        if not difference.any():
            return (0,) * dims
        where = np.nonzero(difference)
        low = [int(w.min()) for w in where]
        high = [int(w.max()) for w in where]
        inside = min(low) > 0 and max(high) < size - 1
        if inside or size >= LARGEST_PROBE[dims]:
            return tuple(max(centre - a, b - centre) if inside else size // 2
                         for a, b in zip(low, high))
        size *= 2
