"""Augmentation settings: one dataclass per transform, gathered in :class:`AugmentConfig` (loadable
from YAML with :func:`microseg.config.from_dict`)."""
from __future__ import annotations

import dataclasses
from typing import Annotated

from microseg.config import (Count, Interval, NonNegative, Ordered, Percent, Positive,
                             PositiveInterval, Probability, Range, check_fields)
from microseg.errors import ConfigError


@dataclasses.dataclass
class ElasticConfig:
    """Elastic deformation (Simard et al. 2003, as used by RC-SPCNet, 001_8efe375831c61076.txt):
    a displacement field of uniform noise in [-1, 1] smoothed by a Gaussian of standard deviation
    ``sigma`` and scaled by ``alpha`` (both in pixels; the paper uses α = 2500, σ = 50 on 512²
    images). In 3D the same in-plane field moves every slice."""

    p: Probability = 0.0
    alpha: NonNegative = 2500.0
    sigma: Positive = 50.0

    def __post_init__(self) -> None:
        check_fields(self, "augment.elastic")


@dataclasses.dataclass
class ZoomConfig:
    """Rescaling by a factor drawn log-uniformly from ``scale`` (> 1 magnifies); in-plane in 3D."""

    p: Probability = 0.0
    scale: PositiveInterval = (0.8, 1.25)

    def __post_init__(self) -> None:
        check_fields(self, "augment.zoom")


@dataclasses.dataclass
class IntensityConfig:
    """Image-only changes, each channel drawn separately: gamma (applied to the channel rescaled
    to [0, 1], then mapped back), multiplication by ``scale``, addition of ``shift`` and Gaussian
    noise with a standard deviation drawn from ``[0, noise]``."""

    p: Probability = 0.0
    gamma: PositiveInterval = (0.7, 1.5)
    scale: Interval = (0.8, 1.2)
    shift: Interval = (-0.1, 0.1)
    noise: NonNegative = 0.0

    def __post_init__(self) -> None:
        check_fields(self, "augment.intensity")


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

    p: Probability = 0.0
    signal: PositiveInterval = (0.125, 1.0)
    photons: PositiveInterval = (20.0, 1000.0)
    offset: NonNegative = 0.1
    read_noise: NonNegative = 0.02
    blur: NonNegative = 2.0
    blur_p: Probability = 0.3
    illumination: NonNegative = 0.3
    spots: Annotated[int, Range(0)] = 20
    spots_p: Probability = 0.2
    spot_brightness: PositiveInterval = (1.0, 8.0)
    invert: Probability = 0.0
    percentiles: Annotated[tuple[Percent, Percent], Ordered(strict=True)] = (1.0, 99.8)

    def __post_init__(self) -> None:
        check_fields(self, "augment.acquisition")


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

    crop: Count | list[Count] | None = None
    pad: Annotated[int, Range(0)] = 0
    flip: bool = True
    flip_z: bool = False
    rot90: bool = True
    elastic: ElasticConfig = dataclasses.field(default_factory=ElasticConfig)
    zoom: ZoomConfig = dataclasses.field(default_factory=ZoomConfig)
    acquisition: AcquisitionConfig = dataclasses.field(default_factory=AcquisitionConfig)
    intensity: IntensityConfig = dataclasses.field(default_factory=IntensityConfig)
    image_order: Annotated[int, Range(0, 5)] = 1

    def __post_init__(self) -> None:
        check_fields(self, "augment")
        if isinstance(self.crop, list) and len(self.crop) not in (2, 3):
            raise ConfigError(f"augment.crop: expected one size or a list of 2–3 of them, got "
                              f"{self.crop!r}")
