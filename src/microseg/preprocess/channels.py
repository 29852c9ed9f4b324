"""An image as read → the channel-first layout a network takes, with the channels it takes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from microseg.errors import InputError
from microseg.preprocess.normalize import to_grey


def to_channels(image: np.ndarray, channels: int, ndim: int = 2,
                path: str | Path | None = None) -> np.ndarray:
    """Image as read (``(Y, X)``, ``(Y, X, 3|4)`` RGB(A) or ``(Z, Y, X)`` for ``ndim=3``) →
    ``(C, *spatial)`` with ``C = channels``: 1 = grey (colour by luminance, alpha dropped), 3 = RGB
    (grey replicated). float32, except that a grey integer image keeps its dtype for
    :class:`~microseg.preprocess.normalize.Normalization` (which returns float32) to count its
    values. Other layouts raise :class:`InputError` naming ``path``.

    >>> to_channels(np.zeros((4, 5, 3), np.uint8), 1).shape
    (1, 4, 5)
    """
    image = np.asarray(image)
    colour = ndim == 2 and image.ndim == 3 and image.shape[-1] in (3, 4)
    if image.ndim != ndim and not colour:
        raise InputError(path, f"expected a {ndim}D image (grey{' or RGB(A)' if ndim == 2 else ''}"
                               f"), got shape {image.shape}")
    if channels == 1:
        if colour:
            return to_grey(image)[None]
        return (image if image.dtype.kind in "ui" else image.astype(np.float32))[None]
    if colour:
        return np.moveaxis(image[..., :3], -1, 0).astype(np.float32)
    return np.repeat(image[None].astype(np.float32), channels, axis=0)
