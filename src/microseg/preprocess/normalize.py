"""Intensity normalisation of images before a network sees them, in training and inference alike
(:class:`Normalization` is what a checkpoint records)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

import numpy as np

from microseg.config import check_fields
from microseg.errors import InputError, InputWarning

Method = Literal["percentile", "minmax", "sequence", "none"]
#: Percentile-normalised values are kept within ``[-OUTLIER_SPANS, 1 + OUTLIER_SPANS]``: a few
#: extreme pixels (a hot pixel, a 1e30 artefact) would otherwise reach the network at values
#: that swamp its whole receptive field. Real images stay far inside (a few spans at most).
OUTLIER_SPANS = 20.0
#: A pixel at or above the high percentile with at most one of its 8 in-plane neighbours at this
#: fraction of its height above the low percentile or more is an isolated hot pixel (alone or in
#: a pair: a camera defect, a cosmic ray; real objects are spread over several pixels by the
#: optics).
HOT_PIXEL_NEIGHBOURS = 0.5
#: Hot pixels are replaced only when they hijack the high percentile: they make up at least
#: this share of the pixels at or above it (a cheap first test; noise alone gives a few percent)
#: and without them the percentile range shrinks below :data:`HOT_PIXEL_HIJACK` of what it was.
HOT_PIXEL_SHARE = 0.25
HOT_PIXEL_HIJACK = 0.5


def normalize_percentile(image: np.ndarray, low: float = 1.0, high: float = 99.8,
                         axis: tuple[int, ...] | None = None, clip: bool = False,
                         eps: float = 1e-6) -> np.ndarray:
    """Map the ``low``/``high`` percentiles of ``image`` to 0 and 1 (float32).

    ``axis`` selects the axes the percentiles are taken over (``None``: the whole array; for a
    ``(C, Y, X)`` image pass ``(1, 2)`` to normalise each channel on its own). A constant image maps
    to zeros instead of dividing by zero. Integer images over all axes take their percentiles
    from :func:`integer_percentiles` (same values, much faster). Non-finite pixels are left out
    of the percentiles and replaced (:func:`finite_float32`); values more than
    :data:`OUTLIER_SPANS` percentile ranges beyond the range are clipped to that bound, with an
    :class:`~microseg.errors.InputWarning`; ``clip`` clips to ``[0, 1]``.
    """
    image = np.asarray(image)
    if axis is None and image.dtype.kind in "ui":
        lo, hi = (np.float32(v) for v in integer_percentiles(image, (low, high)))
        image = image.astype(np.float32)
    else:
        image, (lo, hi) = finite_float32(image, axis, (low, high))
    if axis is None:
        image, lo, hi = without_hot_pixels(image, lo, hi, (low, high))
    span = np.maximum(hi - lo, np.float32(eps))
    with np.errstate(over="ignore"):          # beyond float32: clipped to the bound just below
        out = ((image - lo) / span).astype(np.float32, copy=False)
    if clip:
        return np.clip(out, 0.0, 1.0)
    return _clip_outliers(out, f"{low:g}-{high:g} percentile")


def without_hot_pixels(image: np.ndarray, lo: float, hi: float,
                       percentiles: tuple[float, float]) -> tuple[np.ndarray, float, float]:
    """``(image, lo, hi)`` with isolated hot pixels (see :data:`HOT_PIXEL_NEIGHBOURS`) replaced
    by their second brightest neighbour and the ``percentiles`` taken again, when they hijack the high
    percentile (:data:`HOT_PIXEL_HIJACK`), with an :class:`~microseg.errors.InputWarning`;
    otherwise the inputs unchanged. ``image``: float32 ``(..., Y, X)``, neighbours in-plane."""
    if image.ndim < 2 or hi <= lo:
        return image, lo, hi
    flat = image.reshape(-1)
    index = np.flatnonzero(flat >= hi)
    if not index.size:
        return image, lo, hi
    values = flat[index]
    height, width = image.shape[-2:]
    rows, cols = (index // width) % height, index % width
    first = np.full(values.shape, -np.inf, np.float32)      # brightest neighbour
    second = first.copy()                                    # second brightest
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            inside = ((rows + dy >= 0) & (rows + dy < height)
                      & (cols + dx >= 0) & (cols + dx < width))
            neighbour = np.where(inside, flat[np.where(inside, index + dy * width + dx, 0)],
                                 -np.inf)
            second = np.maximum(second, np.minimum(first, neighbour))
            first = np.maximum(first, neighbour)
    hot = (second - lo < HOT_PIXEL_NEIGHBOURS * (values - lo)) & np.isfinite(second)
    if np.count_nonzero(hot) < HOT_PIXEL_SHARE * hot.size:   # too few to hold the percentile
        return image, lo, hi
    cleaned = image.copy()
    cleaned.reshape(-1)[index[hot]] = second[hot]
    new_lo, new_hi = (np.float32(v) for v in np.percentile(cleaned, percentiles))
    if new_hi - new_lo >= HOT_PIXEL_HIJACK * (hi - lo):
        return image, lo, hi
    warnings.warn(InputWarning(None, f"{int(hot.sum())} isolated hot pixel(s) set the "
                                     f"{percentiles[1]:g} percentile; replaced by a "
                                     f"neighbour's value"), stacklevel=3)
    return cleaned, new_lo, new_hi


def finite_float32(image: np.ndarray, axis: tuple[int, ...] | None = None,
                   percentiles: Sequence[float] = ()) -> tuple[np.ndarray, list[Any]]:
    """``image`` as float32 with its non-finite pixels (NaN, ±inf, float64 values beyond float32)
    replaced by the median of the finite ones, and the ``percentiles`` of the finite pixels (as
    ``np.percentile`` over ``axis``, dimensions kept when ``axis`` is given: one value per
    channel for ``(1, 2)`` of a ``(C, Y, X)`` image). Replaced pixels are counted in an
    :class:`~microseg.errors.InputWarning`; an image or channel without a finite pixel is an
    :class:`~microseg.errors.InputError`.
    """
    with np.errstate(over="ignore"):
        image = np.asarray(image).astype(np.float32, copy=False)
    keep = axis is not None
    finite = np.isfinite(image)
    if finite.all():
        if not len(percentiles):
            return image, []
        return image, list(np.percentile(image, percentiles, axis=axis, keepdims=keep))
    masked = np.where(finite, image, np.float32(np.nan))
    with warnings.catch_warnings():             # all-NaN channels are reported just below
        warnings.simplefilter("ignore", RuntimeWarning)
        *values, fill = np.nanpercentile(masked, [*percentiles, 50.0], axis=axis, keepdims=keep)
    if not np.isfinite(fill).all():
        where = " in some channel" if keep else ""
        raise InputError(None, f"the image has no finite pixel{where} (all NaN or infinite)")
    bad = finite.size - int(np.count_nonzero(finite))
    warnings.warn(InputWarning(None, f"{bad} of {finite.size} pixels are not finite (NaN or "
                                     f"infinite); replaced by the median of the others"),
                  stacklevel=3)
    return np.where(finite, image, fill).astype(np.float32, copy=False), values


def _clip_outliers(image: np.ndarray, scale: str) -> np.ndarray:
    """Clip a normalised float32 image to ``[-OUTLIER_SPANS, 1 + OUTLIER_SPANS]`` (in place),
    warning with the number of pixels clipped; ``scale`` names what 0 and 1 are."""
    low, high = -OUTLIER_SPANS, 1.0 + OUTLIER_SPANS
    if image.size == 0 or (image.min() >= low and image.max() <= high):
        return image
    count = int(np.count_nonzero((image < low) | (image > high)))
    warnings.warn(InputWarning(None, f"{count} pixel(s) lie more than {OUTLIER_SPANS:g} times "
                                     f"the {scale} range beyond it; clipped to that bound"),
                  stacklevel=3)
    return np.clip(image, low, high, out=image)


def integer_percentiles(image: np.ndarray, percentiles: tuple[float, ...],
                        max_span: int = 1 << 22) -> tuple[float, ...]:
    """``np.percentile(image, percentiles)`` (linear interpolation, float64) of an integer array
    over all its elements, by counting values instead of partially sorting a copy: several times
    faster on camera images (8 / 16 bit). Falls back to ``np.percentile`` when the values span
    more than ``max_span`` integers."""
    flat = np.asarray(image).ravel()
    if flat.size == 0:
        raise ValueError("percentiles of an empty image")
    low, high = int(flat.min()), int(flat.max())
    if high - low > max_span:
        return tuple(float(v) for v in np.percentile(flat, percentiles))
    offset = flat.astype(np.int64) - low if flat.dtype.kind == "i" else flat - flat.dtype.type(low)
    return count_percentiles(np.bincount(offset), low, percentiles)


def count_percentiles(counts: np.ndarray, start: int,
                      percentiles: Sequence[float]) -> tuple[float, ...]:
    """``np.percentile(values, percentiles)`` (linear interpolation, float64) of the integers
    whose histogram is ``counts`` (``counts[v]`` elements equal ``start + v``): the
    percentiles of an image too large to hold, from its histogram summed block by block.

    >>> count_percentiles(np.array([2, 0, 1]), 10, (0, 50, 100))
    (10.0, 10.0, 12.0)
    """
    below_or_at = np.cumsum(counts)             # below_or_at[v] = #elements <= start + v
    n = int(below_or_at[-1])
    if n == 0:
        raise ValueError("percentiles of an empty histogram")
    quantiles = np.asarray(percentiles, dtype=np.float64) / 100
    position = (n - 1) * quantiles               # numpy's "linear" virtual index
    previous = np.clip(np.floor(position), 0, n - 1).astype(np.int64)
    following = np.minimum(previous + 1, n - 1)
    gamma = position - np.floor(position)
    a = np.searchsorted(below_or_at, previous, side="right") + float(start)
    b = np.searchsorted(below_or_at, following, side="right") + float(start)
    diff = b - a
    values = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return tuple(float(v) for v in values)


def normalize_minmax(image: np.ndarray, minimum: float | None = None,
                     maximum: float | None = None, eps: float = 1e-6) -> np.ndarray:
    """Map ``[minimum, maximum]`` to ``[0, 1]`` (float32).

    With both ``None`` the image's own extremes are used; pass a sequence's global extremes for the
    per-sequence min/max normalisation of XB-Net (004_a42a17ce25b44d71.txt). Non-finite pixels
    are replaced first (:func:`finite_float32`).
    """
    image = finite_float32(image)[0]
    lo = float(image.min()) if minimum is None else float(minimum)
    hi = float(image.max()) if maximum is None else float(maximum)
    return (image - lo) / max(hi - lo, eps)


def intensity_range(images: Iterable[np.ndarray]) -> tuple[float, float]:
    """``(min, max)`` intensity over all ``images`` (the frames of a sequence, the slices of a
    stack, any shapes): the range of the per-sequence min/max normalisation of XB-Net
    (``Normalization(method="sequence")``). Images are read one at a time when ``images`` is an
    iterator.

    >>> intensity_range([np.array([[3, 9]]), np.array([[1, 4]])])
    (1.0, 9.0)
    """
    low, high = np.inf, -np.inf
    for image in images:
        low, high = min(low, float(np.min(image))), max(high, float(np.max(image)))
    if low > high:
        raise InputError(None, "no image to take an intensity range over")
    return low, high


#: A normalised image whose median lies above this is taken to have a bright background.
BRIGHT_BACKGROUND = 0.5
#: Pixels the background decision looks at, at most (about).
MEDIAN_SAMPLES = 1 << 18


def _grid_sample(image: np.ndarray) -> np.ndarray:
    """Every ``k``-th pixel along each spatial axis of ``(C, *spatial)``, ``k`` chosen so about
    :data:`MEDIAN_SAMPLES` remain (all pixels of a small image)."""
    spatial = image.shape[1:] if image.ndim > 1 else image.shape
    step = max(1, int((image.size / MEDIAN_SAMPLES) ** (1.0 / max(len(spatial), 1))))
    index = (slice(None),) * (image.ndim - len(spatial)) + (slice(None, None, step),) * len(spatial)
    return image[index]


def has_bright_background(image: np.ndarray) -> bool:
    """Whether a normalised ``(C, *spatial)`` image (0 = its low, 1 = its high percentile) has a
    bright background: its median lies above :data:`BRIGHT_BACKGROUND` (bright-field, H&E-like
    stains). One decision for the whole image, all channels together, from the median of a
    regular grid of about :data:`MEDIAN_SAMPLES` pixels (cheap on large images)."""
    image = np.asarray(image)
    return bool(image.size) and float(np.median(_grid_sample(image))) > BRIGHT_BACKGROUND


def to_grey(image: np.ndarray) -> np.ndarray:
    """RGB(A) ``(Y, X, 3|4)`` → grey ``(Y, X)`` by luminance weights; grey input is returned as is."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        rgb = image[..., :3].astype(np.float32)
        return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return image


@dataclass(frozen=True)
class Levels:
    """One normalisation for every block of an image too large to normalise whole: intensity
    ``low`` maps to 0 and ``high`` to 1 (one value for all channels, or one per channel), as
    the image's :class:`Normalization` would map the whole image (:meth:`Normalization.levels`).
    ``clip``: values beyond :data:`OUTLIER_SPANS` ranges are clipped, as
    :func:`normalize_percentile` clips them; ``inverted``: the result is turned over (the
    whole image has a bright background).

    >>> Levels((10.0,), (20.0,)).apply(np.array([[10, 15, 30]], np.uint16)).tolist()
    [[0.0, 0.5, 2.0]]
    """

    low: tuple[float, ...]
    high: tuple[float, ...]
    clip: bool = False
    inverted: bool = False

    def apply(self, image: np.ndarray) -> np.ndarray:
        """A ``(C, *spatial)`` image normalised → float32."""
        image = finite_float32(image)[0]
        shape = (-1,) + (1,) * (image.ndim - 1)
        low = np.asarray(self.low, np.float32).reshape(shape)
        span = np.maximum(np.asarray(self.high, np.float32).reshape(shape) - low,
                          np.float32(1e-6))
        with np.errstate(over="ignore"):
            out = ((image - low) / span).astype(np.float32, copy=False)
        if self.clip:
            out = _clip_outliers(out, "percentile")
        return (1.0 - out).astype(np.float32, copy=False) if self.inverted else out


@dataclass
class Normalization:
    """Intensity normalisation as recorded in a checkpoint (``ModelMeta.normalization``).

    ``method``: ``percentile`` (map the ``percentiles`` to 0 and 1), ``minmax`` (the image's own
    extremes), ``sequence`` (the extremes of a whole sequence, passed as ``intensity_range``;
    the image's own extremes otherwise) or ``none``. ``per_channel`` normalises each channel on
    its own. ``dark_background`` inverts a normalised image with a bright background (see
    :func:`~microseg.preprocess.normalize.has_bright_background`). ``channels`` (grey 1 / RGB 3) is
    informative; the model's input width rules.
    """

    method: Method = "percentile"
    percentiles: list[float] = field(default_factory=lambda: [1.0, 99.8])
    per_channel: bool = False
    dark_background: bool = False
    channels: int | None = None

    def __post_init__(self) -> None:
        check_fields(self, "normalization")

    def __call__(self, image: np.ndarray,
                 intensity_range: tuple[float, float] | None = None,
                 levels: Levels | None = None) -> np.ndarray:
        """Normalise a ``(C, *spatial)`` image (float32, or a grey integer one) → float32."""
        return self.apply(image, intensity_range, levels=levels)[0]

    def apply(self, image: np.ndarray, intensity_range: tuple[float, float] | None = None,
              stained: bool = False, levels: Levels | None = None) -> tuple[np.ndarray, bool]:
        """Normalise a ``(C, *spatial)`` image (float32, or a grey integer one) →
        ``(normalised float32, inverted)``;
        ``inverted``: ``dark_background`` turned its bright background dark. ``stained``: the
        image as read is a stained transmitted-light one
        (:func:`~microseg.preprocess.stain.is_stained`), whose background is bright whatever
        its normalised median. ``levels``: the statistics of a whole image this one is a block
        of (:meth:`levels`), applied instead of the image's own."""
        if levels is not None:
            return levels.apply(image), levels.inverted
        image = self._rescale(image, intensity_range)
        if self.dark_background and (stained or has_bright_background(image)):
            return (1.0 - image).astype(np.float32, copy=False), True
        return image, False

    def range_percentiles(self) -> tuple[float, float] | None:
        """The percentiles of an image that this normalisation maps to 0 and 1: its
        ``percentiles``, the extremes ``(0, 100)`` for ``minmax`` and ``sequence``, None for
        ``none`` (nothing to take from the image)."""
        if self.method == "none":
            return None
        if self.method == "percentile":
            low, high = self.percentiles
            return float(low), float(high)
        return 0.0, 100.0

    def levels(self, low: Sequence[float], high: Sequence[float],
               inverted: bool = False) -> Levels:
        """:class:`Levels` mapping ``low`` / ``high`` (one value, or one per channel with
        ``per_channel``: the :meth:`range_percentiles` of a whole image) to 0 and 1, as this
        normalisation maps an image's own; ``inverted``: the whole image's bright background
        is turned dark."""
        return Levels(tuple(float(v) for v in low), tuple(float(v) for v in high),
                      clip=self.method == "percentile", inverted=inverted)

    def _rescale(self, image: np.ndarray,
                 intensity_range: tuple[float, float] | None) -> np.ndarray:
        axis = tuple(range(1, image.ndim)) if self.per_channel else None
        if self.method == "percentile":
            low, high = self.percentiles
            return normalize_percentile(image, low, high, axis=axis)
        if self.method == "none":
            return finite_float32(image, axis)[0]
        if self.method == "sequence" and intensity_range is not None:
            return normalize_minmax(image, *intensity_range)
        if self.per_channel:
            return np.stack([normalize_minmax(c) for c in image])
        return normalize_minmax(image)
