"""Imaging modality of a nuclei image guessed from its pixels, for per-modality figures.

DSB 2018 mixes fluorescence (dark background, grey), bright-field (bright background, grey) and
H&E-like stained tissue (bright background, coloured) without saying which image is which. The
rule here: a coloured image bright enough to be transmitted light is H&E-like
(:func:`~microseg.preprocess.stain.looks_stained`); otherwise a dark background (median below half
of the full scale) is fluorescence, whatever the colour, and a bright one bright-field.
"""
from __future__ import annotations

import typing
from typing import Literal

import numpy as np

from microseg.preprocess.stain import full_scale_rgb, looks_stained

Modality = Literal["fluorescence", "brightfield", "he"]
MODALITIES = typing.get_args(Modality)


def guess_modality(image: np.ndarray, path: str | None = None) -> str:
    """``fluorescence`` | ``brightfield`` | ``he`` for a ``(Y, X)`` or ``(Y, X, C)`` image
    (C = 3 or 4, alpha ignored) of an integer dtype (full scale = dtype maximum) or float in
    [0, 1]."""
    rgb = full_scale_rgb(image, path)
    if looks_stained(rgb):
        return "he"
    return "fluorescence" if np.median(rgb.mean(axis=-1)) < 0.5 else "brightfield"
