"""Acquisition augmentation: what another microscope, stain or exposure does to an image.

The image arrives normalised (background near 0, bright objects near 1, as the training sources
store it). One draw of :class:`~microseg.augment.config.AcquisitionConfig` changes it the way a
different acquisition would, then normalises it again with the percentiles inference uses, so the
network sees what it will see on a stranger's image:

1. defocus: Gaussian blur of standard deviation ``blur`` pixels;
2. contrast loss: the signal above the background (the crop's 1st percentile) scaled by ``signal``;
3. uneven illumination: multiplication by a smooth random field (a tilted plane, ± ``illumination``);
4. bright outliers: small Gaussian spots ``spot_brightness`` times the object level, anywhere;
5. Poisson–Gaussian noise: shot noise with ``photons`` expected photons at the object level
   (on a dark offset of ``offset``), plus Gaussian read noise of standard deviation ``read_noise``;
6. the inference normalisation again (``percentiles`` of the crop → 0 and 1);
7. inversion (bright field: dark objects on a bright background) with probability ``invert``.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from microseg.augment.config import AcquisitionConfig
from microseg.preprocess.normalize import normalize_percentile


def augment_acquisition(image: np.ndarray, config: AcquisitionConfig,
                        rng: np.random.Generator) -> np.ndarray:
    """One random acquisition of a normalised ``(C, *spatial)`` float32 image; every channel gets
    the same draw (a channel is one stain of the same field). Returns a new float32 array."""
    image = np.asarray(image, dtype=np.float32)
    spatial = image.shape[1:]
    blur = rng.uniform(0.0, config.blur) if rng.random() < config.blur_p else 0.0
    signal = float(np.exp(rng.uniform(*np.log(config.signal))))
    field = _illumination(spatial, config.illumination, rng)
    spots = _spots(spatial, config, rng)
    photons = float(np.exp(rng.uniform(*np.log(config.photons))))
    read_noise = rng.uniform(0.0, config.read_noise)
    invert = rng.random() < config.invert
    out = np.empty_like(image)
    for c, channel in enumerate(image):
        if blur > 0:
            channel = ndi.gaussian_filter(channel, blur, mode="mirror")
        background = float(np.percentile(channel, 1.0))
        channel = background + signal * (channel - background)
        channel = channel * field + spots * signal
        expected = np.clip(channel + config.offset, 0.0, None) * photons
        channel = (photon_noise(expected, read_noise * photons, rng) / photons).astype(np.float32)
        channel = normalize_percentile(channel, *config.percentiles)
        out[c] = 1.0 - channel if invert else channel
    return out


def photon_noise(expected: np.ndarray, read_noise: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Camera counts (float64, same shape) for ``expected`` photons per pixel: Poisson shot
    noise plus Gaussian read noise of standard deviation ``read_noise`` (photons)."""
    counts = rng.poisson(expected).astype(np.float64)
    return counts + rng.normal(0.0, read_noise, size=counts.shape) if read_noise > 0 else counts


def planar_field(shape: tuple[int, int], amplitude: float, angle: float) -> np.ndarray:
    """``1 + amplitude · plane`` float32 ``(Y, X)``: a plane through the image centre rising
    along ``angle`` (radians; 0 = down the rows), scaled to reach ± ``amplitude`` at its
    extremes."""
    ys, xs = (np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape)
    plane = np.cos(angle) * ys[:, None] + np.sin(angle) * xs[None, :]
    plane /= max(float(np.abs(plane).max()), 1e-6)
    return (1.0 + amplitude * plane).astype(np.float32)


def spot_field(shape: tuple[int, int], ys: np.ndarray, xs: np.ndarray, peaks: np.ndarray,
               sigma: float) -> np.ndarray:
    """Gaussian spots of standard deviation ``sigma`` (px) centred at ``(ys, xs)``, each
    peaking at its value in ``peaks`` (when apart), float32 ``(Y, X)``."""
    canvas = np.zeros(shape, np.float32)
    canvas[ys, xs] = peaks
    # a lone unit impulse blurred by sigma peaks at 1 / (2π σ²)
    return ndi.gaussian_filter(canvas, sigma, mode="constant") * np.float32(2 * np.pi * sigma ** 2)


def _illumination(spatial: tuple[int, ...], strength: float,
                  rng: np.random.Generator) -> np.ndarray | float:
    """A multiplicative field over the in-plane axes (:func:`planar_field`), its amplitude
    uniform in ``[0, strength]`` and its direction uniform (1 when strength is 0)."""
    if strength <= 0:
        return 1.0
    amplitude = rng.uniform(0.0, strength)
    return planar_field(spatial[-2:], amplitude, rng.uniform(0.0, 2 * np.pi))


def _spots(spatial: tuple[int, ...], config: AcquisitionConfig,
           rng: np.random.Generator) -> np.ndarray | float:
    """Bright outliers ``(Y, X)``: up to ``spots`` Gaussian blobs of radius 1–3 px and peak
    ``spot_brightness`` (drawn per spot) in normalised units, placed uniformly (0 when none)."""
    count = int(rng.integers(0, config.spots + 1)) if rng.random() < config.spots_p else 0
    if count == 0:
        return 0.0
    ys = rng.integers(0, spatial[-2], count)
    xs = rng.integers(0, spatial[-1], count)
    peaks = rng.uniform(*config.spot_brightness, count).astype(np.float32)
    return spot_field(spatial[-2:], ys, xs, peaks, rng.uniform(1.0, 3.0))
