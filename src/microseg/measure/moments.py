"""Pixel counts, bounding boxes, centroids and second moments of every object, from its runs.

A run of ``k`` pixels on a line at leading coordinates ``c`` (``y``, or ``z, y``) from ``x0`` to
``x1`` contributes ``k`` pixels, ``c·k`` and ``Σx = k(x0 + x1)/2`` to the first moments and
``c cᵀ·k``, ``c·Σx`` and ``Σx² = S(x1) − S(x0 − 1)`` with ``S(t) = t(t + 1)(2t + 1)/6`` to the
second ones; per-object sums are one ``np.add.reduceat`` over the runs. Coordinates are taken
relative to each object's bounding box so the central moments lose no precision far from the
origin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from microseg.measure.runs import LabelRuns


@dataclass(frozen=True, eq=False)
class Geometry:
    """Shape statistics of ``n`` objects in a ``d``-dimensional label image, in pixel units.

    ``count`` ``(n,)`` int64 pixels per object; ``bbox_min`` / ``bbox_max`` ``(n, d)`` int64 first
    pixel and one past the last pixel along each axis (half-open, like Python slices);
    ``centroid`` ``(n, d)`` mean pixel coordinate; ``covariance`` ``(n, d, d)`` covariance of the
    pixel coordinates (divided by the pixel count), axes in image order (``z, y, x``).
    """

    count: np.ndarray
    bbox_min: np.ndarray
    bbox_max: np.ndarray
    centroid: np.ndarray
    covariance: np.ndarray


def geometry(runs: LabelRuns) -> Geometry:
    """Compute the :class:`Geometry` of every object in ``runs`` (no loop over objects)."""
    ndim = len(runs.shape)
    lead = list(np.unravel_index(runs.line, runs.shape[:-1])) if ndim > 1 else []
    bbox_min = np.stack([runs.reduce(np.minimum, c) for c in lead]
                        + [runs.reduce(np.minimum, runs.x0)], axis=1)
    bbox_max = np.stack([runs.reduce(np.maximum, c) for c in lead]
                        + [runs.reduce(np.maximum, runs.x1)], axis=1) + 1
    obj = runs.object_of_run()
    local = [(c - bbox_min[obj, axis]).astype(np.float64) for axis, c in enumerate(lead)]
    x0 = (runs.x0 - bbox_min[obj, -1]).astype(np.float64)
    x1 = (runs.x1 - bbox_min[obj, -1]).astype(np.float64)
    length = x1 - x0 + 1
    sum_x = (x0 + x1) * length / 2
    first = np.empty((length.size, ndim))
    second = np.empty((length.size, ndim, ndim))
    for a, ca in enumerate(local):
        first[:, a] = ca * length
        second[:, a, -1] = second[:, -1, a] = ca * sum_x
        for b in range(a + 1):
            second[:, a, b] = second[:, b, a] = ca * local[b] * length
    first[:, -1] = sum_x
    second[:, -1, -1] = _sum_of_squares(x1) - _sum_of_squares(x0 - 1)
    count = runs.reduce(np.add, runs.length)
    mean = runs.reduce(np.add, first) / count[:, None]
    covariance = runs.reduce(np.add, second) / count[:, None, None]
    covariance -= mean[:, :, None] * mean[:, None, :]
    return Geometry(count=count, bbox_min=bbox_min, bbox_max=bbox_max,
                    centroid=mean + bbox_min, covariance=covariance)


def _sum_of_squares(t: np.ndarray) -> np.ndarray:
    """``0² + 1² + … + t²`` for ``t ≥ −1`` (0 for ``t ∈ {−1, 0}``)."""
    return t * (t + 1) * (2 * t + 1) / 6


def eccentricity(covariance: np.ndarray, spacing: np.ndarray | None = None) -> np.ndarray:
    """``sqrt(1 − λ_min / λ_max)`` of each ``(d, d)`` coordinate covariance in ``(n, d, d)``.

    In 2D this is the eccentricity of the ellipse with the same second moments (as
    ``skimage.measure.regionprops``); in 3D it is the eccentricity of the ellipse through the
    longest and shortest axes of the equivalent ellipsoid (0 for a sphere, → 1 for a needle or a
    disc). With ``spacing`` ``(d,)`` the covariance is first scaled to physical units, so the value
    describes the true shape of anisotropically sampled objects. Objects without extent (one
    pixel) get 0.
    """
    if spacing is not None:
        covariance = covariance * np.outer(spacing, spacing)
    eigenvalues = np.clip(np.linalg.eigvalsh(covariance), 0, None)  # ascending
    largest, smallest = eigenvalues[:, -1], eigenvalues[:, 0]
    ratio = np.divide(smallest, largest, out=np.ones_like(largest), where=largest > 0)
    return np.sqrt(1 - ratio)


def equivalent_diameter(size: np.ndarray, ndim: int) -> np.ndarray:
    """Diameter of the disc (2D) or ball (3D) with area / volume ``size`` ``(n,)``, same units."""
    return (2 * ndim / np.pi * np.asarray(size, np.float64)) ** (1 / ndim)
