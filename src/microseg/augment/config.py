"""Augmentation settings: one dataclass per transform, gathered in :class:`AugmentConfig` (loadable
from YAML with :func:`microseg.config.from_dict`)."""
from __future__ import annotations

import dataclasses

from microseg.errors import ConfigError


def _probability(value: float, where: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: a probability must lie in [0, 1], got {value}")


def _interval(value, where: str, positive: bool = False) -> tuple[float, float]:
    """``value`` as a ``(low, high)`` tuple of floats with ``low ≤ high`` (and > 0 if asked)."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected [low, high], got {value!r}") from None
    if low > high or (positive and low <= 0):
        raise ConfigError(f"{where}: need {'0 < ' if positive else ''}low ≤ high, got {value!r}")
    return low, high


@dataclasses.dataclass
class ElasticConfig:
    """Elastic deformation (Simard et al. 2003, as used by RC-SPCNet, 001_8efe375831c61076.txt):
    a displacement field of uniform noise in [-1, 1] smoothed by a Gaussian of standard deviation
    ``sigma`` and scaled by ``alpha`` (both in pixels; the paper uses α = 2500, σ = 50 on 512²
    images). In 3D the same in-plane field moves every slice."""

    p: float = 0.0
    alpha: float = 2500.0
    sigma: float = 50.0

    def __post_init__(self) -> None:
        _probability(self.p, "augment.elastic.p")
        if self.alpha < 0 or self.sigma <= 0:
            raise ConfigError("augment.elastic: need alpha ≥ 0 and sigma > 0")


@dataclasses.dataclass
class ZoomConfig:
    """Rescaling by a factor drawn log-uniformly from ``scale`` (> 1 magnifies); in-plane in 3D."""

    p: float = 0.0
    scale: tuple[float, float] = (0.8, 1.25)

    def __post_init__(self) -> None:
        _probability(self.p, "augment.zoom.p")
        self.scale = _interval(self.scale, "augment.zoom.scale", positive=True)


@dataclasses.dataclass
class IntensityConfig:
    """Image-only changes, each channel drawn separately: gamma (applied to the channel rescaled
    to [0, 1], then mapped back), multiplication by ``scale``, addition of ``shift`` and Gaussian
    noise with a standard deviation drawn from ``[0, noise]``."""

    p: float = 0.0
    gamma: tuple[float, float] = (0.7, 1.5)
    scale: tuple[float, float] = (0.8, 1.2)
    shift: tuple[float, float] = (-0.1, 0.1)
    noise: float = 0.0

    def __post_init__(self) -> None:
        _probability(self.p, "augment.intensity.p")
        self.gamma = _interval(self.gamma, "augment.intensity.gamma", positive=True)
        self.scale = _interval(self.scale, "augment.intensity.scale")
        self.shift = _interval(self.shift, "augment.intensity.shift")
        if self.noise < 0:
            raise ConfigError("augment.intensity.noise must be ≥ 0")


@dataclasses.dataclass
class AcquisitionConfig:
    """Another microscope, stain or exposure (see :mod:`microseg.augment.acquisition`), applied
    with probability ``p`` to a normalised image, which is then normalised again with
    ``percentiles`` (those inference uses).

    ``signal``: factor on the contrast above background, log-uniform (0.125 keeps an eighth);
    ``photons``: expected photons at the object level (normalised 1), log-uniform: fewer is
    noisier; ``offset``: dark level (normalised units) that also carries shot noise;
    ``read_noise``: largest Gaussian read-noise standard deviation (normalised units);
    ``blur`` (pixels) with probability ``blur_p``; ``illumination``: largest relative tilt of a
    planar illumination field; ``spots`` bright outliers at most, with probability ``spots_p``,
    each ``spot_brightness`` times the object level; ``invert``: probability of inverting the
    result (bright-field polarity)."""

    p: float = 0.0
    signal: tuple[float, float] = (0.125, 1.0)
    photons: tuple[float, float] = (20.0, 1000.0)
    offset: float = 0.1
    read_noise: float = 0.02
    blur: float = 2.0
    blur_p: float = 0.3
    illumination: float = 0.3
    spots: int = 20
    spots_p: float = 0.2
    spot_brightness: tuple[float, float] = (1.0, 8.0)
    invert: float = 0.0
    percentiles: tuple[float, float] = (1.0, 99.8)

    def __post_init__(self) -> None:
        for name in ("p", "blur_p", "spots_p", "invert"):
            _probability(getattr(self, name), f"augment.acquisition.{name}")
        self.signal = _interval(self.signal, "augment.acquisition.signal", positive=True)
        self.photons = _interval(self.photons, "augment.acquisition.photons", positive=True)
        self.spot_brightness = _interval(self.spot_brightness,
                                         "augment.acquisition.spot_brightness", positive=True)
        self.percentiles = _interval(self.percentiles, "augment.acquisition.percentiles")
        if not 0.0 <= self.percentiles[0] < self.percentiles[1] <= 100.0:
            raise ConfigError("augment.acquisition.percentiles: need 0 ≤ low < high ≤ 100")
        for name in ("offset", "read_noise", "blur", "illumination"):
            if getattr(self, name) < 0:
                raise ConfigError(f"augment.acquisition.{name} must be ≥ 0")
        if self.spots < 0:
            raise ConfigError("augment.acquisition.spots must be ≥ 0")


@dataclasses.dataclass
class AugmentConfig:
    """What :class:`~microseg.augment.Augmenter` does, in order: crop (with zoom and elastic
    deformation folded into one resampling), reflection padding, flips, 90° rotations, acquisition
    (another microscope: blur, contrast, noise, illumination, outliers, polarity), intensity.

    Args:
        crop: output size before padding: an int (square in-plane; the whole Z range in 3D), a
            list with one size per spatial axis, or ``None`` to keep the input size. An image
            smaller than the crop is padded by reflection.
        pad: width of the reflection added on every in-plane side of the crop (XB-Net: 8, or 16
            for a 6-stage U-Net); the output is ``crop + 2·pad`` wide.
        flip: flip Y and X, each with probability 1/2.
        flip_z: also flip Z (3D).
        rot90: rotate in-plane by a random multiple of 90° (of 180° when the crop is not square).
        image_order: spline order used to resample the image under zoom / elastic deformation
            (labels always use nearest neighbour).
    """

    crop: int | list[int] | None = None
    pad: int = 0
    flip: bool = True
    flip_z: bool = False
    rot90: bool = True
    elastic: ElasticConfig = dataclasses.field(default_factory=ElasticConfig)
    zoom: ZoomConfig = dataclasses.field(default_factory=ZoomConfig)
    acquisition: AcquisitionConfig = dataclasses.field(default_factory=AcquisitionConfig)
    intensity: IntensityConfig = dataclasses.field(default_factory=IntensityConfig)
    image_order: int = 1

    def __post_init__(self) -> None:
        if self.crop is not None:
            single = isinstance(self.crop, int)
            sizes = [self.crop] if single else list(self.crop)
            if not (single or len(sizes) in (2, 3)) or not all(
                    isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
                raise ConfigError(f"augment.crop: expected a positive int or a list of 2–3 of "
                                  f"them, got {self.crop!r}")
        if self.pad < 0:
            raise ConfigError("augment.pad must be ≥ 0")
        if self.image_order not in range(6):
            raise ConfigError("augment.image_order must be 0 … 5")
