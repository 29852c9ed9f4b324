"""Objects from point prompts: a seeded watershed on a model's maps (2D).

A positive point asks for the object under it, a negative point says "not this"; the model's
maps say where objects are (``foreground`` probability) and where their cores are (``interior``
probability, low on the boundaries between touching objects). Every positive point seeds its
object, negative points seed background, and the objects the model found that no point touches
(``others``) compete for pixels too, so that one click on a nucleus in a clump does not flood its
unclicked neighbours. The seeds grow over ``1 − interior`` through the foreground.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from microseg.errors import InputError


def prompted_objects(foreground: np.ndarray, interior: np.ndarray,
                     positive: Sequence[Sequence[float]] | np.ndarray,
                     negative: Sequence[Sequence[float]] | np.ndarray = (), *,
                     ids: Sequence[int] | None = None, others: np.ndarray | None = None,
                     threshold: float = 0.5, sigma: float = 1.0,
                     fallback_radius: float = 0.0) -> np.ndarray:
    """Labels ``(Y, X)`` holding the object of each positive point.

    Args:
        foreground: foreground probability ``(Y, X)`` in [0, 1].
        interior: object-interior probability, same shape (a one-map model: the foreground).
        positive: ``(N, 2)`` points ``(y, x)`` in pixels (rounded to the nearest pixel).
        negative: ``(M, 2)`` background points.
        ids: the object id of each positive point (several points may share one object);
            default ``1 … N``.
        others: labels of objects that compete for pixels (e.g. the model's own instances);
            those under a positive point are left out.
        threshold: foreground probability above which a pixel can join an object.
        sigma: Gaussian smoothing (pixels) of the interior map before the watershed.
        fallback_radius: a positive point on a pixel the model calls background seeds a disc
            of this radius (pixels; 0: the point alone), since the maps give it no extent.

    Returns:
        uint16 labels (uint32 for ids above 65535), 0 = background, object ``ids[k]`` grown from
        point ``k``.

    >>> fg = np.zeros((5, 9)); fg[1:4, 1:4] = fg[1:4, 5:8] = 1
    >>> prompted_objects(fg, fg, [(2, 2), (2, 6)], ids=[4, 9])
    array([[0, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 4, 4, 4, 0, 9, 9, 9, 0],
           [0, 4, 4, 4, 0, 9, 9, 9, 0],
           [0, 4, 4, 4, 0, 9, 9, 9, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=uint16)
    """
    foreground = np.asarray(foreground, dtype=np.float32)
    interior = np.asarray(interior, dtype=np.float32)
    if foreground.ndim != 2 or interior.shape != foreground.shape:
        raise InputError(None, f"prompts need 2D maps of one shape, got {foreground.shape} and "
                               f"{interior.shape}")
    points = prompt_pixels(positive, foreground.shape, "positive")
    ids = np.arange(1, len(points) + 1) if ids is None else np.asarray(ids, dtype=np.int64)
    if ids.shape != (len(points),) or (ids.size and ids.min() < 1):
        raise InputError(None, f"ids must be one positive integer per positive point, got "
                               f"{ids.tolist()} for {len(points)} point(s)")
    background = int(ids.max(initial=0)) + 1
    markers = np.zeros(foreground.shape, np.int64)
    mask = foreground > threshold
    if others is not None:
        others = np.asarray(others)
        if others.shape != foreground.shape:
            raise InputError(None, f"others must have the maps' shape {foreground.shape}, got "
                                   f"{others.shape}")
        pointed = np.unique(others[tuple(points.T)]) if len(points) else np.zeros(0, int)
        competing = (others > 0) & ~np.isin(others, pointed[pointed > 0])
        markers[competing & mask] = background
    for y, x in prompt_pixels(negative, foreground.shape, "negative"):
        markers[y, x] = background
    for (y, x), label in zip(points, ids):
        if not mask[y, x] and fallback_radius > 0:
            disc = _disc(foreground.shape, (y, x), fallback_radius)
            markers[disc & ~mask] = label
            mask |= disc
        markers[y, x] = label
    surface = 1.0 - (ndi.gaussian_filter(interior, sigma) if sigma > 0 else interior)
    labels = watershed(surface, markers, mask=mask | (markers > 0))
    labels[labels == background] = 0
    return labels.astype(np.uint16 if background <= 2**16 else np.uint32)


def prompt_pixels(points: Sequence[Sequence[float]] | np.ndarray, shape: tuple[int, ...],
            what: str) -> np.ndarray:
    """``(N, 2)`` integer pixel coordinates of ``points``; InputError for points outside."""
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2) if len(points) else \
        np.zeros((0, 2))
    pixels = np.round(array).astype(np.int64)
    outside = ~((pixels >= 0) & (pixels < np.asarray(shape))).all(axis=1)
    if outside.any():
        raise InputError(None, f"{what} point(s) {array[outside].tolist()} lie outside the "
                               f"image of shape {shape}")
    return pixels


def _disc(shape: tuple[int, ...], centre: tuple[int, int], radius: float) -> np.ndarray:
    yy, xx = np.ogrid[:shape[0], :shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2
