"""Intensity changes applied to the image only."""
from __future__ import annotations

import numpy as np

from microseg.augment.config import IntensityConfig


def augment_intensity(image: np.ndarray, config: IntensityConfig,
                      rng: np.random.Generator) -> np.ndarray:
    """Random gamma, scale, shift and Gaussian noise, drawn per channel of ``image``
    ``(C, *spatial)`` float32 (see :class:`IntensityConfig`). Returns a new float32 array."""
    out = np.empty_like(image, dtype=np.float32)
    for c, channel in enumerate(image):
        gamma = np.exp(rng.uniform(*np.log(config.gamma)))
        scale = rng.uniform(*config.scale)
        shift = rng.uniform(*config.shift)
        noise = rng.uniform(0.0, config.noise)
        low, high = float(channel.min()), float(channel.max())
        if gamma != 1.0 and high > low:
            channel = low + (high - low) * ((channel - low) / (high - low)) ** gamma
        channel = channel * scale + shift
        if noise > 0:
            channel = channel + rng.normal(0.0, noise, size=channel.shape)
        out[c] = channel
    return out
