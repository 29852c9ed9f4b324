"""From an image as read to the network's input: layout, channels and intensity normalisation.

Layout rules for an image as read (no ``channel_axis`` given): ``(Y, X)`` is a grey 2D image;
``(Y, X, 3|4)`` with more than 4 rows is RGB(A) 2D; any other 3-axis array is a grey ``(Z, Y, X)``
stack. Grey input given to a 3-channel model is replicated, colour input given to a 1-channel
model is converted to grey by luminance (as in training, :func:`microseg.data.sources.to_channels`).
With ``channel_axis`` the image holds exactly the model's channels along that axis, in any order
of the other axes ``(…, Y, X)`` / ``(…, Z, Y, X)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from microseg.config import from_dict
from microseg.errors import ConfigError, InputError
from microseg.preprocess.normalize import dark_background, normalize_minmax, normalize_percentile

METHODS = ("percentile", "minmax", "sequence", "none")


def spatial_ndim(image: np.ndarray, channel_axis: int | None = None,
                 path: str | Path | None = None) -> int:
    """2 or 3: the number of spatial axes of ``image`` (see the module docstring)."""
    image = np.asarray(image)
    axes = image.ndim - (channel_axis is not None)
    colour = channel_axis is None and image.ndim == 3 and image.shape[-1] in (3, 4) \
        and image.shape[0] > 4
    if colour:
        return 2
    if axes not in (2, 3):
        raise InputError(path, f"expected a (Y, X), (Y, X, RGB) or (Z, Y, X) image (or give "
                               f"the channel axis), got shape {image.shape}")
    return axes


def channels_first(image: np.ndarray, channels: int, channel_axis: int | None = None,
                   path: str | Path | None = None) -> np.ndarray:
    """``image`` as float32 ``(C, Y, X)`` / ``(C, Z, Y, X)`` with ``C = channels``."""
    from microseg.data.sources import to_channels

    image = np.asarray(image)
    if image.dtype.kind not in "biuf":
        raise InputError(path, f"image must hold numbers, got dtype {image.dtype}")
    if channel_axis is None:
        return to_channels(image, channels, spatial_ndim(image, None, path), path)
    if not -image.ndim <= channel_axis < image.ndim:
        raise InputError(path, f"channel axis {channel_axis} does not exist in an image of "
                               f"shape {image.shape}")
    moved = np.moveaxis(image, channel_axis, 0)
    if moved.shape[0] != channels:
        raise InputError(path, f"the model takes {channels} channel(s), the image has "
                               f"{moved.shape[0]} along axis {channel_axis} (shape {image.shape})")
    spatial_ndim(image, channel_axis, path)
    return moved.astype(np.float32)


@dataclass
class Normalization:
    """Intensity normalisation as recorded in a checkpoint's ``meta["normalization"]``.

    ``method``: ``percentile`` (map the ``percentiles`` to 0 and 1), ``minmax`` (the image's own
    extremes), ``sequence`` (the extremes of a whole sequence, passed as ``intensity_range``;
    the image's own extremes otherwise) or ``none``. ``per_channel`` normalises each channel on
    its own. ``dark_background`` inverts a normalised image with a bright background (see
    :func:`~microseg.preprocess.normalize.dark_background`). ``channels`` (grey 1 / RGB 3) is
    informative; the model's input width rules.
    """

    method: str = "percentile"
    percentiles: list[float] = field(default_factory=lambda: [1.0, 99.8])
    per_channel: bool = False
    dark_background: bool = False
    channels: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"normalization method {self.method!r} unknown; use one of {METHODS}")

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> "Normalization":
        """From ``meta["normalization"]``; the percentile default when it is absent."""
        return from_dict(cls, dict(meta.get("normalization") or {}), where="normalization")

    def __call__(self, image: np.ndarray,
                 intensity_range: tuple[float, float] | None = None) -> np.ndarray:
        """Normalise a float32 ``(C, *spatial)`` image."""
        image = self._rescale(image, intensity_range)
        return dark_background(image) if self.dark_background else image

    def _rescale(self, image: np.ndarray,
                 intensity_range: tuple[float, float] | None) -> np.ndarray:
        if self.method == "none":
            return np.asarray(image, dtype=np.float32)
        if self.method == "percentile":
            axis = tuple(range(1, image.ndim)) if self.per_channel else None
            low, high = self.percentiles
            return normalize_percentile(image, low, high, axis=axis)
        if self.method == "sequence" and intensity_range is not None:
            return normalize_minmax(image, *intensity_range)
        if self.per_channel:
            return np.stack([normalize_minmax(c) for c in image])
        return normalize_minmax(image)
