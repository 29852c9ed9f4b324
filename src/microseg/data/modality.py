"""Imaging modality of a nuclei image guessed from its pixels, for per-modality figures.

DSB 2018 mixes fluorescence (dark background, grey), bright-field (bright background, grey) and
H&E-like stained tissue (bright background, coloured) without saying which image is which. The
rule here: a coloured image bright enough to be transmitted light is H&E-like
(:func:`~microseg.preprocess.stain.looks_stained`); otherwise a dark background (median below half
of the full scale) is fluorescence, whatever the colour, and a bright one bright-field.

Label-free transmitted light (phase contrast, DIC) is told apart by :func:`looks_label_free`, which
chooses between the nuclei and the whole-cell models (``--model auto``).
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


#: :func:`looks_label_free`: after percentile normalisation (``LABEL_FREE_PERCENTILES``) the most
#: frequent intensity lies inside ``LABEL_FREE_MODE`` (a mid-grey background), and at least
#: ``LABEL_FREE_TAIL`` of the pixels lie more than ``LABEL_FREE_OFFSET`` below the median and as
#: many above it (dark cell bodies and bright halos of phase contrast, the relief shading of DIC).
#: Fluorescence has no pixels well below its dark background, bright-field and stained images none
#: well above their bright one.
LABEL_FREE_PERCENTILES = (1.0, 99.8)
LABEL_FREE_MODE = (0.15, 0.85)
LABEL_FREE_OFFSET = 0.25
LABEL_FREE_TAIL = 0.005
#: Pixels looked at along each axis at most (the image is strided down to this).
LABEL_FREE_SIDE = 512


def looks_label_free(image: np.ndarray, path: str | None = None) -> bool:
    """Whether a 2D image ``(Y, X)`` or ``(Y, X, C)`` (C = 3 or 4, alpha ignored; numpy or
    dask, read strided to :data:`LABEL_FREE_SIDE`) looks like label-free transmitted light
    (phase contrast, DIC) rather than fluorescence, bright-field or a stain (see
    :data:`LABEL_FREE_MODE`).

    >>> rng = np.random.default_rng(0)
    >>> phase = np.full((64, 64), 100.0) + rng.normal(0, 2, (64, 64))
    >>> phase[10:20, 10:20], phase[20:23, 10:20] = 40, 200      # dark cell, bright halo
    >>> looks_label_free(phase), looks_label_free(np.clip(phase - 100, 0, None))
    (True, False)
    """
    shape = np.shape(image)
    if len(shape) not in (2, 3) or len(shape) == 3 and shape[-1] not in (3, 4):
        return False
    step = max(1, max(shape[:2]) // LABEL_FREE_SIDE)
    image = np.asarray(image[::step, ::step])           # a lazy (dask) image is read strided
    if image.ndim == 3:
        if looks_stained(full_scale_rgb(image, path)):
            return False
        image = image[..., :3].mean(axis=-1)
    grey = image.astype(np.float32)
    low, high = np.percentile(grey, LABEL_FREE_PERCENTILES)
    if high <= low:
        return False
    grey = np.clip((grey - low) / (high - low), 0.0, 1.0)
    counts, edges = np.histogram(grey, bins=50, range=(0.0, 1.0))
    counts = np.convolve(counts, np.ones(3) / 3, mode="same")
    mode = edges[np.argmax(counts)] + 0.5 * (edges[1] - edges[0])
    median = float(np.median(grey))
    below = np.mean(grey < median - LABEL_FREE_OFFSET)
    above = np.mean(grey > median + LABEL_FREE_OFFSET)
    return bool(LABEL_FREE_MODE[0] <= mode <= LABEL_FREE_MODE[1]
                and min(below, above) >= LABEL_FREE_TAIL)
