"""Imaging modality of a nuclei image guessed from its pixels, for per-modality figures.

DSB 2018 mixes fluorescence (dark background, grey), bright-field (bright background, grey) and
H&E-like stained tissue (bright background, coloured) without saying which image is which. The
rule here: a dark background (median below half of the full scale) is fluorescence, whatever
the colour; a bright background is H&E-like when the channels differ (mean per-pixel spread
between RGB channels above :data:`COLOUR_SPREAD` of the full scale), bright-field otherwise.
"""
from __future__ import annotations

import typing
from typing import Literal

import numpy as np

from microseg.errors import InputError

Modality = Literal["fluorescence", "brightfield", "he"]
MODALITIES = typing.get_args(Modality)
#: Mean max−min channel difference (fraction of full scale) above which an image is coloured.
COLOUR_SPREAD = 0.03


def guess_modality(image: np.ndarray, path: str | None = None) -> str:
    """``fluorescence`` | ``brightfield`` | ``he`` for a ``(Y, X)`` or ``(Y, X, C)`` image
    (C = 3 or 4, alpha ignored) of an integer dtype (full scale = dtype maximum) or float in
    [0, 1]."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        rgb = image[..., :3]
    elif image.ndim == 2:
        rgb = image[..., None]
    else:
        raise InputError(path, f"expected (Y, X) or (Y, X, 3|4), got shape {image.shape}")
    if image.dtype.kind in "iu":
        scale = float(np.iinfo(image.dtype).max)
    elif image.dtype.kind == "f":
        scale = 1.0
    else:
        raise InputError(path, f"image must hold numbers, got dtype {image.dtype}")
    rgb = rgb.astype(np.float32) / scale
    if np.median(rgb.mean(axis=-1)) < 0.5:
        return "fluorescence"
    spread = float(np.mean(rgb.max(axis=-1) - rgb.min(axis=-1)))
    return "he" if spread > COLOUR_SPREAD else "brightfield"
