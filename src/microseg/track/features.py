"""Per-object features of one frame, the vectors the tracker compares between frames.

Following XB-Net (§5.6), every object is described by its intensity-weighted centroid and by
descriptors of its equivalent ellipse and convex hull: size (area / volume), equivalent radius,
aspect ratio, solidity, mean and maximum intensity. Everything but the weighted centroid comes
from :func:`microseg.measure.measure` (run-length based, no loop over objects); the weighted
centroid is one ``np.bincount`` per axis over the foreground pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.images import as_labels
from microseg.measure import measure

#: Aspect ratios are capped here (a one-pixel-wide line has an unbounded one).
MAX_ASPECT = 100.0


@dataclass(frozen=True, eq=False)
class ObjectFeatures:
    """Features of the ``n`` objects of one frame (rows in increasing label order).

    ``ids`` ``(n,)`` int64 labels; ``centroid`` ``(n, d)`` intensity-weighted centroid (axes
    ``(y, x)`` or ``(z, y, x)``), in physical units when a spacing was given, else pixels;
    ``size`` ``(n,)`` int64 pixel count (area / volume); ``radius`` ``(n,)`` equivalent radius
    (disc / ball of the same size, same units as ``centroid``); ``aspect`` ``(n,)`` longest over
    shortest axis of the equivalent ellipse (ellipsoid), ≥ 1; ``solidity`` ``(n,)`` size over
    convex size, in (0, 1]; ``mean_intensity`` / ``max_intensity`` ``(n,)`` of the raw frame
    (zeros when no frame was given; ``has_intensity`` tells).
    """

    ids: np.ndarray
    centroid: np.ndarray
    size: np.ndarray
    radius: np.ndarray
    aspect: np.ndarray
    solidity: np.ndarray
    mean_intensity: np.ndarray
    max_intensity: np.ndarray
    has_intensity: bool

    def __len__(self) -> int:
        return int(self.ids.size)

    def index_of(self, labels: np.ndarray) -> np.ndarray:
        """Row of each label in ``labels`` (all must be present)."""
        return np.searchsorted(self.ids, labels)


def object_features(labels: np.ndarray, image: np.ndarray | None = None,
                    spacing: Sequence[float] | None = None, *,
                    source: str | Path | None = None) -> ObjectFeatures:
    """Features of every object of ``labels`` ``(Y, X)`` or ``(Z, Y, X)`` (0 = background).

    ``image`` is the raw frame of the same shape (or ``None``: geometric centroids, no intensity
    features); intensities below 0 weigh nothing in the centroid, and an object whose pixels all
    weigh 0 gets its geometric centroid. ``spacing`` ``(d,)`` is the pixel size per axis (e.g.
    µm; anisotropic z in 3D): centroids and radii are then physical and the aspect ratio is that of
    the physical shape. ``source`` names the input in error messages.

    >>> f = object_features(np.array([[1, 1, 0, 2]]), np.array([[1, 3, 0, 5]]))
    >>> f.centroid.tolist(), f.size.tolist(), f.mean_intensity.tolist()
    ([[0.0, 0.75], [0.0, 3.0]], [2, 1], [2.0, 5.0])
    """
    labels = as_labels(labels, source)
    if image is not None:
        image = np.asarray(image)
        if image.shape != labels.shape:
            raise InputError(source, f"frame shape {image.shape} does not match label shape "
                                     f"{labels.shape}")
    table = measure(labels, image, spacing, source=source)
    ndim = labels.ndim
    axes = "zyx"[3 - ndim:]
    ids = table["label"]
    size = table["area" if ndim == 2 else "volume"]
    centroid = np.stack([table[f"centroid_{a}"] for a in axes], axis=1)
    if image is not None and ids.size:
        centroid = _weighted_centroid(labels, image, ids, centroid)
    scale = np.ones(ndim) if spacing is None else np.asarray(spacing, np.float64)
    e = np.minimum(table["eccentricity"], 1.0)
    aspect = 1.0 / np.sqrt(np.maximum(1.0 - e * e, MAX_ASPECT ** -2))
    diameter = table["equivalent_diameter" if spacing is None else "equivalent_diameter_um"]
    zeros = np.zeros(ids.size)
    return ObjectFeatures(
        ids=ids, centroid=centroid * scale, size=size, radius=diameter / 2, aspect=aspect,
        solidity=table["solidity"],
        mean_intensity=table["mean_intensity_c0"] if image is not None else zeros,
        max_intensity=table["max_intensity_c0"] if image is not None else zeros,
        has_intensity=image is not None)


def _weighted_centroid(labels: np.ndarray, image: np.ndarray, ids: np.ndarray,
                       geometric: np.ndarray) -> np.ndarray:
    """Intensity-weighted centroid ``(n, d)`` (pixels) of the objects ``ids``; objects without
    positive weight keep their ``geometric`` centroid."""
    flat = labels.ravel()
    foreground = np.flatnonzero(flat)
    row = np.searchsorted(ids, flat[foreground])
    weight = np.clip(image.ravel()[foreground].astype(np.float64), 0, None)
    total = np.bincount(row, weights=weight, minlength=ids.size)
    coords = np.unravel_index(foreground, labels.shape)
    sums = np.stack([np.bincount(row, weights=weight * c, minlength=ids.size) for c in coords],
                    axis=1)
    positive = total > 0
    out = geometric.copy()
    out[positive] = sums[positive] / total[positive, None]
    return out
