"""From an image as read to the network's input: layout, channels and intensity normalisation.

Layout rules for an image as read (no ``channel_axis`` given): ``(Y, X)`` is a grey 2D image;
``(Y, X, 3|4)`` with more than 4 rows is RGB(A) 2D; ``(Y, X, 1|2)`` with more than 4 rows is
refused as ambiguous (channels, or a stack of 1–2 columns: give ``channel_axis``); any other
3-axis array is a grey ``(Z, Y, X)`` stack. Grey input given to a 3-channel model is replicated,
colour input given to a 1-channel model is converted to grey by luminance (as in training,
:func:`microseg.preprocess.channels.to_channels`). With ``channel_axis`` the image holds exactly
the model's channels along that axis, in any order of the other axes ``(…, Y, X)`` /
``(…, Z, Y, X)``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from microseg.errors import InputError
from microseg.preprocess.channels import to_channels
from microseg.preprocess.normalize import Normalization

__all__ = ["Normalization", "channels_first", "spatial_ndim", "spatial_shape"]


def spatial_ndim(image: np.ndarray, channel_axis: int | None = None,
                 path: str | Path | None = None) -> int:
    """2 or 3: the number of spatial axes of ``image`` (see the module docstring)."""
    image = np.asarray(image)
    axes = image.ndim - (channel_axis is not None)
    colour = channel_axis is None and image.ndim == 3 and image.shape[-1] in (3, 4) \
        and image.shape[0] > 4
    if colour:
        return 2
    if channel_axis is None and image.ndim == 3 and image.shape[-1] <= 2 \
            and image.shape[0] > 4:
        raise InputError(path, f"the last axis of shape {image.shape} may hold channels: give the "
                               f"channel axis (channel_axis=2 / --channel-axis 2)")
    if axes not in (2, 3):
        raise InputError(path, f"expected a (Y, X), (Y, X, RGB) or (Z, Y, X) image (or give "
                               f"the channel axis), got shape {image.shape}")
    return axes


def spatial_shape(image: np.ndarray, channel_axis: int | None = None,
                  path: str | Path | None = None) -> tuple[int, ...]:
    """The spatial shape ``(Y, X)`` or ``(Z, Y, X)`` of ``image`` (:func:`spatial_ndim`)."""
    shape = list(np.shape(image))
    if channel_axis is not None:
        del shape[channel_axis]
    return tuple(shape[:spatial_ndim(image, channel_axis, path)])


def channels_first(image: np.ndarray, channels: int, channel_axis: int | None = None,
                   path: str | Path | None = None) -> np.ndarray:
    """``image`` as ``(C, Y, X)`` / ``(C, Z, Y, X)`` with ``C = channels``, float32 or, for a
    grey integer image, its own dtype (see :func:`~microseg.preprocess.channels.to_channels`)."""
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
