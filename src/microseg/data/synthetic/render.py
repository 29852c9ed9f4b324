"""Turning exact labels into plausible microscope images: smooth random fields, texture, optics
blur and camera noise."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from scipy import ndimage
from scipy.interpolate import CubicSpline

from microseg.config import Range


@dataclass
class Camera:
    """Fluorescence microscope and camera model.

    ``blur``: Gaussian PSF sigma (px, lateral). ``background``: peak of the uneven background
    relative to a bright object (1.0). ``photons``: photon count of a bright object (sets the
    Poisson noise). ``read_noise``: Gaussian camera noise (counts). ``offset``: camera baseline
    (counts).
    """

    blur: Annotated[float, Range(0, 100)] = 1.0
    background: Annotated[float, Range(0, 10)] = 0.15
    photons: Annotated[float, Range(1, 1e5)] = 300.0
    read_noise: Annotated[float, Range(0, 1e4)] = 3.0
    offset: Annotated[float, Range(0, 6e4)] = 100.0


def smooth_field(rng: np.random.Generator, shape: tuple[int, ...],
                 scale: float | tuple[float, ...]) -> np.ndarray:
    """A smooth random field of ``shape`` with values in ``[0, 1]`` varying over about ``scale`` px
    (per axis or one for all): random values on a coarse grid, interpolated by cubic splines
    (separably, one axis at a time)."""
    scales = np.broadcast_to(np.asarray(scale, dtype=float), (len(shape),))
    field = rng.random(tuple(max(2, int(np.ceil(s / max(c, 1.0))) + 1)
                             for s, c in zip(shape, scales)))
    for axis, size in enumerate(shape):
        n = field.shape[axis]
        weights = CubicSpline(np.arange(n), np.eye(n))(np.linspace(0.0, n - 1.0, size))
        field = np.moveaxis(np.tensordot(weights, field, axes=(1, axis)), 0, axis)
    low, high = field.min(), field.max()
    return (field - low) / (high - low) if high > low else np.zeros(shape)


def texture(rng: np.random.Generator, shape: tuple[int, ...],
            sigma: float | tuple[float, ...]) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian-correlated noise (correlation length ``sigma`` px)."""
    noise = ndimage.gaussian_filter(rng.normal(size=shape), sigma)
    return noise / max(float(noise.std()), 1e-12)


def fluorescence(signal: np.ndarray, rng: np.random.Generator, camera: Camera,
                 sigma: float | tuple[float, ...], background_scale: float | tuple[float, ...]
                 ) -> np.ndarray:
    """Image a relative fluorescence ``signal`` (1.0 = a bright object) → uint16 counts.

    The signal is blurred by a Gaussian PSF of ``sigma`` (px, per axis or one for all), an uneven
    background varying over ``background_scale`` px is added, then Poisson photon noise, Gaussian
    read noise and the camera offset.
    """
    clean = ndimage.gaussian_filter(signal.astype(np.float64), sigma)
    clean += camera.background * (0.3 + 0.7 * smooth_field(rng, signal.shape, background_scale))
    counts = rng.poisson(np.clip(clean, 0.0, None) * camera.photons).astype(np.float64)
    counts += rng.normal(camera.offset, camera.read_noise, signal.shape)
    return np.clip(np.round(counts), 0, np.iinfo(np.uint16).max).astype(np.uint16)


def to_uint(image: np.ndarray, dtype: type[np.unsignedinteger]) -> np.ndarray:
    """Map relative intensities in ``[0, 1]`` to the full range of ``dtype`` (clipped)."""
    top = np.iinfo(dtype).max
    return np.clip(np.round(image * top), 0, top).astype(dtype)
