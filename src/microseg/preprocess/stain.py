"""Whether an RGB image is a stained transmitted-light image (H&E and the like).

Such an image has dark stain on a bright background however dense the tissue: a field packed with
nuclei can have a normalised median below one half and fool the brightness rule of
:func:`~microseg.preprocess.normalize.has_bright_background`, so the decision to invert it rests
on its colour instead. The rule: mean per-pixel spread between the R, G and B channels above
:data:`COLOUR_SPREAD` of the full scale (coloured), and median brightness above
:data:`STAINED_BRIGHTNESS` of the full scale (transmitted light). Fluorescence, coloured or not,
has a dark background far below that brightness; grey bright-field is left to the brightness rule.
"""
from __future__ import annotations

import numpy as np

from microseg.errors import InputError

#: Mean max−min channel difference (fraction of full scale) above which an image is coloured.
COLOUR_SPREAD = 0.03
#: Median brightness (mean of R, G, B; fraction of full scale) above which a coloured image is
#: taken for transmitted light.
STAINED_BRIGHTNESS = 0.3


def full_scale_rgb(image: np.ndarray, path: str | None = None) -> np.ndarray:
    """``(Y, X)`` or ``(Y, X, 3|4)`` (alpha dropped) of an integer dtype (full scale = the dtype's
    maximum) or float in [0, 1] → float32 ``(Y, X, 1|3)`` in [0, 1]."""
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
    return rgb.astype(np.float32) / scale


def colour_spread(rgb: np.ndarray) -> float:
    """Mean max−min channel difference of a full-scale ``(Y, X, C)`` image (0 for grey)."""
    return float(np.mean(rgb.max(axis=-1) - rgb.min(axis=-1)))


def is_stained(image: np.ndarray, path: str | None = None) -> bool:
    """Whether ``image`` ``(Y, X, 3|4)`` is coloured and bright enough to be a stained
    transmitted-light image (see the module docstring); grey ``(Y, X)`` images never are.

    >>> pink = np.zeros((8, 8, 3), np.uint8) + np.array([200, 120, 180], np.uint8)
    >>> is_stained(pink), is_stained(pink // 8), is_stained(pink[..., 0])
    (True, False, False)
    """
    return looks_stained(full_scale_rgb(image, path))


def looks_stained(rgb: np.ndarray) -> bool:
    """:func:`is_stained` of an image already scaled by :func:`full_scale_rgb`."""
    return (rgb.shape[-1] == 3 and colour_spread(rgb) > COLOUR_SPREAD
            and float(np.median(rgb.mean(axis=-1))) > STAINED_BRIGHTNESS)
