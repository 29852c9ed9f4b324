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
    eigenvalues = _eigenvalues(covariance, spacing)
    largest, smallest = eigenvalues[:, -1], eigenvalues[:, 0]
    ratio = np.divide(smallest, largest, out=np.ones_like(largest), where=largest > 0)
    return np.sqrt(1 - ratio)


def axis_lengths(covariance: np.ndarray,
                 spacing: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Major and minor axis lengths ``(n,)`` each of the ellipse (2D: ``4·sqrt(λ)``) or
    ellipsoid (3D: ``sqrt(20·λ)``) with the same second moments as each object, from the
    largest and smallest eigenvalue ``λ`` of each ``(d, d)`` covariance in ``(n, d, d)``, as
    ``skimage.measure.regionprops``' ``axis_major_length`` / ``axis_minor_length``. In pixels,
    or in the unit of ``spacing`` ``(d,)`` when given."""
    factor = 16.0 if covariance.shape[-1] == 2 else 20.0
    eigenvalues = _eigenvalues(covariance, spacing)
    return np.sqrt(factor * eigenvalues[:, -1]), np.sqrt(factor * eigenvalues[:, 0])


def orientation(covariance: np.ndarray, spacing: np.ndarray | None = None) -> np.ndarray:
    """Angle (radians, in ``[-π/2, π/2]``) between the Y axis (rows) and the major axis of each
    2D object's ellipse, counter-clockwise, from its ``(2, 2)`` covariance (``y, x`` order) in
    ``(n, 2, 2)``; as ``skimage.measure.regionprops``' ``orientation``, including its ``±π/4``
    for objects whose row and column variances are equal. With ``spacing`` ``(2,)`` the angle
    is that of the physically scaled object."""
    if spacing is not None:
        covariance = covariance * np.outer(spacing, spacing)
    var_y, var_x, cov_yx = covariance[:, 0, 0], covariance[:, 1, 1], covariance[:, 0, 1]
    tied = np.where(cov_yx > 0, np.pi / 4, -np.pi / 4)
    return np.where(var_x == var_y, tied, 0.5 * np.arctan2(2 * cov_yx, var_y - var_x))


def _eigenvalues(covariance: np.ndarray, spacing: np.ndarray | None) -> np.ndarray:
    """Eigenvalues (ascending, clipped at 0) of each covariance in ``(n, d, d)``, scaled by
    ``spacing`` ``(d,)`` first when given."""
    if spacing is not None:
        covariance = covariance * np.outer(spacing, spacing)
    return np.clip(np.linalg.eigvalsh(covariance), 0, None)


def equivalent_diameter(size: np.ndarray, ndim: int) -> np.ndarray:
    """Diameter of the disc (2D) or ball (3D) with area / volume ``size`` ``(n,)``, same units."""
    return (2 * ndim / np.pi * np.asarray(size, np.float64)) ** (1 / ndim)
