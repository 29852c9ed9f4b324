"""Named, repeatable degradations of a raw image and its labels, for robustness sweeps: how a model
copes with another microscope's signal, noise, focus, scale, illumination and outliers.

Unlike :mod:`microseg.augment.acquisition` (random, on normalised training crops), each
degradation here has one level parameter and acts on the raw image in its own units, before the
model's normalisation, so the sweep measures the whole pipeline as a user runs it. The image is
``(Y, X)`` or ``(Y, X, C)``; labels are ``(Y, X)``. The background level is the median of the
pixels outside every labelled object (the labels are known in a sweep).

============  ======================================================  ===================
kind          what ``level`` means                                    untouched at
============  ======================================================  ===================
signal        contrast kept above the background, then Poisson–        1
              Gaussian noise (see :data:`PHOTONS`)
gamma         exponent on the image rescaled to its min–max            1
blur          Gaussian defocus, standard deviation in pixels           0
scale         resampling factor of image and labels (> 1 enlarges)     1
illumination  relative tilt of a planar illumination field             0
spots         bright outliers per megapixel, 5× the object level       0
============  ======================================================  ===================
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from microseg.augment.acquisition import photon_noise, planar_field, spot_field
from microseg.data.rescale import rescale_sample
from microseg.data.sample import Sample
from microseg.errors import InputError

KINDS = ("signal", "gamma", "blur", "scale", "illumination", "spots")
#: The identity level of each kind.
IDENTITY = {"signal": 1.0, "gamma": 1.0, "blur": 0.0, "scale": 1.0, "illumination": 0.0,
            "spots": 0.0}
#: Photon budget of the ``signal`` kind: the object level (99.8th percentile above background)
#: at full signal is this many photons, the background carries :data:`DARK_PHOTONS`, and the
#: camera adds Gaussian read noise of :data:`READ_NOISE` photons.
PHOTONS = 200.0
DARK_PHOTONS = 20.0
READ_NOISE = 3.0
#: Peak of a ``spots`` outlier, in object levels above background, and its Gaussian radius (px).
SPOT_PEAK = 5.0
SPOT_SIGMA = 1.5


def degrade(image: np.ndarray, labels: np.ndarray, kind: str, level: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(image float32, labels)`` after one degradation (see the module table). The identity
    level returns the inputs unchanged (image cast to float32); only ``scale`` changes the
    labels (nearest neighbour) and the shape."""
    if kind not in KINDS:
        raise InputError(None, f"degradation {kind!r} unknown; use one of {KINDS}")
    image, labels = np.asarray(image), np.asarray(labels)
    if image.shape[:2] != labels.shape:
        raise InputError(None, f"image {image.shape} and labels {labels.shape} differ in Y, X")
    out = image.astype(np.float32)
    if level == IDENTITY[kind]:
        return out, labels
    if kind == "scale":
        return _rescale(out, labels, level)
    channels = out[..., None] if out.ndim == 2 else out
    background = np.median(channels[labels == 0], axis=0) if (labels == 0).any() \
        else np.percentile(channels.reshape(-1, channels.shape[-1]), 1.0, axis=0)
    signal = np.percentile(channels.reshape(-1, channels.shape[-1]), 99.8, axis=0) - background
    signal = np.maximum(signal, 1e-6)
    if kind == "signal":
        result = _dim(channels, background, signal, level, rng)
    elif kind == "gamma":
        low, high = channels.min(axis=(0, 1)), channels.max(axis=(0, 1))
        span = np.maximum(high - low, 1e-6)
        result = low + span * ((channels - low) / span) ** level
    elif kind == "blur":
        result = ndi.gaussian_filter(channels, (level, level, 0), mode="mirror")
    elif kind == "illumination":
        result = channels * _tilt(labels.shape, level)[..., None]
    else:
        result = channels + _spots(labels.shape, level, rng)[..., None] * SPOT_PEAK * signal
    result = result.astype(np.float32)
    return (result[..., 0] if image.ndim == 2 else result), labels


def _dim(channels: np.ndarray, background: np.ndarray, signal: np.ndarray, level: float,
         rng: np.random.Generator) -> np.ndarray:
    """Contrast above ``background`` times ``level``, then shot and read noise in photons."""
    if level <= 0:
        raise InputError(None, f"signal level must be > 0, got {level}")
    gain = PHOTONS / signal                                  # photons per intensity unit
    photons = np.clip(level * (channels - background) * gain + DARK_PHOTONS, 0, None)
    return background + (photon_noise(photons, READ_NOISE, rng) - DARK_PHOTONS) / gain


def _tilt(shape: tuple[int, int], strength: float) -> np.ndarray:
    """``1 + strength · ramp`` with the ramp going from -1 to 1 along the image diagonal."""
    return planar_field(shape, strength, np.pi / 4)


def _spots(shape: tuple[int, int], per_megapixel: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian spots of peak 1 and radius :data:`SPOT_SIGMA`, Poisson-many at the given
    density, placed uniformly."""
    count = rng.poisson(per_megapixel * shape[0] * shape[1] / 1e6)
    ys, xs = rng.integers(0, shape[0], count), rng.integers(0, shape[1], count)
    return spot_field(shape, ys, xs, np.ones(count, np.float32), SPOT_SIGMA)


def _rescale(image: np.ndarray, labels: np.ndarray, factor: float
             ) -> tuple[np.ndarray, np.ndarray]:
    channels = image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)
    sample = rescale_sample(Sample(image=channels, labels=labels, name="degraded"), factor)
    out = sample.image[0] if image.ndim == 2 else np.moveaxis(sample.image, 0, -1)
    return out.astype(np.float32), sample.labels
