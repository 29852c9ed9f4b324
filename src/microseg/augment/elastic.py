"""Random elastic displacement fields (Simard, Steinkraus & Platt 2003)."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def elastic_displacement(shape: tuple[int, int], alpha: float, sigma: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Displacement field float64 ``(2, Y, X)`` in pixels: for each axis, uniform noise in
    ``[-1, 1]`` smoothed by a Gaussian of standard deviation ``sigma`` and multiplied by
    ``alpha``.

    The smoothing is done in the Fourier domain (periodic boundary), so its cost does not grow
    with ``sigma``; away from the border this is the same field as a spatial Gaussian filter
    gives, and the displacement has standard deviation ``alpha / (√3 · 2√π · sigma)``.
    """
    noise = rng.uniform(-1.0, 1.0, size=(2, *shape))
    spectrum = np.fft.rfftn(noise, axes=(1, 2))
    for axis in range(2):
        spectrum[axis] = ndi.fourier_gaussian(spectrum[axis], sigma, n=shape[-1])
    return alpha * np.fft.irfftn(spectrum, s=shape, axes=(1, 2))
