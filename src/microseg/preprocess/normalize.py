"""Intensity normalisation of images before a network sees them, in training and inference alike
(:class:`Normalization` is what a checkpoint records)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from microseg.config import from_dict
from microseg.errors import ConfigError

METHODS = ("percentile", "minmax", "sequence", "none")


def normalize_percentile(image: np.ndarray, low: float = 1.0, high: float = 99.8,
                         axis: tuple[int, ...] | None = None, clip: bool = False,
                         eps: float = 1e-6) -> np.ndarray:
    """Map the ``low``/``high`` percentiles of ``image`` to 0 and 1 (float32).

    ``axis`` selects the axes the percentiles are taken over (``None``: the whole array; for a
    ``(C, Y, X)`` image pass ``(1, 2)`` to normalise each channel on its own). A constant image maps
    to zeros instead of dividing by zero. Integer images over all axes take their percentiles
    from :func:`integer_percentiles` (same values, much faster).
    """
    image = np.asarray(image)
    if axis is None and image.dtype.kind in "ui":
        lo, hi = (np.float32(v) for v in integer_percentiles(image, (low, high)))
        image = image.astype(np.float32)
    else:
        image = image.astype(np.float32, copy=False)
        lo, hi = np.percentile(image, [low, high], axis=axis, keepdims=axis is not None)
    out = ((image - lo) / np.maximum(hi - lo, np.float32(eps))).astype(np.float32, copy=False)
    return np.clip(out, 0.0, 1.0) if clip else out


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
    counts = np.bincount(offset)
    below_or_at = np.cumsum(counts)             # below_or_at[v] = #elements <= low + v
    n = flat.size
    quantiles = np.asarray(percentiles, dtype=np.float64) / 100
    position = (n - 1) * quantiles               # numpy's "linear" virtual index
    previous = np.clip(np.floor(position), 0, n - 1).astype(np.int64)
    following = np.minimum(previous + 1, n - 1)
    gamma = position - np.floor(position)
    a = np.searchsorted(below_or_at, previous, side="right") + float(low)
    b = np.searchsorted(below_or_at, following, side="right") + float(low)
    diff = b - a
    values = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return tuple(float(v) for v in values)


def normalize_minmax(image: np.ndarray, minimum: float | None = None,
                     maximum: float | None = None, eps: float = 1e-6) -> np.ndarray:
    """Map ``[minimum, maximum]`` to ``[0, 1]`` (float32).

    With both ``None`` the image's own extremes are used; pass a sequence's global extremes for the
    per-sequence min/max normalisation of XB-Net (004_a42a17ce25b44d71.txt).
    """
    image = np.asarray(image, dtype=np.float32)
    lo = float(image.min()) if minimum is None else float(minimum)
    hi = float(image.max()) if maximum is None else float(maximum)
    return (image - lo) / max(hi - lo, eps)


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


@dataclass
class Normalization:
    """Intensity normalisation as recorded in a checkpoint's ``meta["normalization"]``.

    ``method``: ``percentile`` (map the ``percentiles`` to 0 and 1), ``minmax`` (the image's own
    extremes), ``sequence`` (the extremes of a whole sequence, passed as ``intensity_range``;
    the image's own extremes otherwise) or ``none``. ``per_channel`` normalises each channel on
    its own. ``dark_background`` inverts a normalised image with a bright background (see
    :func:`~microseg.preprocess.normalize.has_bright_background`). ``channels`` (grey 1 / RGB 3) is
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
        """Normalise a ``(C, *spatial)`` image (float32, or a grey integer one) → float32."""
        return self.apply(image, intensity_range)[0]

    def apply(self, image: np.ndarray, intensity_range: tuple[float, float] | None = None
              ) -> tuple[np.ndarray, bool]:
        """Normalise a ``(C, *spatial)`` image (float32, or a grey integer one) →
        ``(normalised float32, inverted)``;
        ``inverted``: ``dark_background`` turned its bright background dark."""
        image = self._rescale(image, intensity_range)
        if self.dark_background and has_bright_background(image):
            return (1.0 - image).astype(np.float32, copy=False), True
        return image, False

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
