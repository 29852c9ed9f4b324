"""Superpixels for the region graph: distance-transform watershed on a boundary probability map.

Pixels whose boundary probability is below ``threshold`` are interior; the distance to the nearest
boundary pixel is smoothed and its local maxima seed a watershed of the (smoothed) boundary map
mixed with the inverted distance, which floods the whole image. Segments smaller than ``min_size``
are removed and their pixels flooded again from the neighbouring segments. Stacks ``(Z, Y, X)``
are processed slice by slice (``per_slice``, the usual choice for anisotropic EM) or as a volume
with voxel size ``sampling``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from microseg.errors import ConfigError, InputError
from microseg.io.images import as_labels
from microseg.post.cleanup import remove_small_objects
from microseg.post.watershed import seed_markers


@dataclass
class SuperpixelConfig:
    """Parameters of :func:`watershed_superpixels` (lengths in pixels of the finest axis).

    ``threshold``: boundary probability above which a pixel is boundary for the distance transform.
    ``sigma_seeds``: Gaussian smoothing of the distance transform before seed detection.
    ``min_distance``: minimum distance between two seeds. ``sigma_weights``: smoothing of the
    boundary map for the watershed height map. ``alpha``: height map = ``alpha`` × boundary +
    (1 − ``alpha``) × (1 − distance / max distance). ``min_size``: smallest segment kept (pixels,
    voxels in 3D). ``per_slice``: stacks get 2D superpixels per slice.
    """

    threshold: float = 0.5
    sigma_seeds: float = 2.0
    min_distance: int = 3
    sigma_weights: float = 1.0
    alpha: float = 0.9
    min_size: int = 20
    per_slice: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0 or not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"superpixels: threshold must be in (0, 1) and alpha in [0, 1], got "
                              f"{self.threshold} and {self.alpha}")
        if self.sigma_seeds < 0 or self.sigma_weights < 0 or self.min_distance < 1 \
                or self.min_size < 0:
            raise ConfigError("superpixels: sigmas and min_size must be >= 0, min_distance >= 1")


def _sigmas(sigma: float, sampling: np.ndarray) -> np.ndarray:
    """Per-axis Gaussian sigma in pixels for a physical sigma given in finest-axis pixels."""
    return sigma * sampling.min() / sampling


def _superpixels(boundary: np.ndarray, config: SuperpixelConfig,
                 sampling: np.ndarray) -> np.ndarray:
    interior = boundary < config.threshold
    distance = ndi.distance_transform_edt(interior, sampling=sampling) if interior.any() \
        else np.zeros(boundary.shape)
    smooth = ndi.gaussian_filter(distance, _sigmas(config.sigma_seeds, sampling))
    markers = seed_markers(smooth, 0.0, config.min_distance, interior)
    height = ndi.gaussian_filter(boundary, _sigmas(config.sigma_weights, sampling))
    if distance.max() > 0:
        height = config.alpha * height + (1.0 - config.alpha) * (1.0 - distance / distance.max())
    if markers.max() == 0:
        markers.flat[np.argmin(height)] = 1
    labels = watershed(height, markers)
    filtered = remove_small_objects(labels, config.min_size)
    if filtered.any() and not np.array_equal(filtered, labels):
        labels = watershed(height, filtered)
    return labels


def watershed_superpixels(boundary: np.ndarray, config: SuperpixelConfig | None = None,
                          sampling: Sequence[float] | None = None) -> np.ndarray:
    """Superpixels of a boundary probability map.

    Args:
        boundary: ``(Y, X)`` or ``(Z, Y, X)`` boundary (membrane) probabilities in [0, 1].
        config: :class:`SuperpixelConfig` (defaults when None).
        sampling: voxel size per axis, e.g. ``(10.0, 1.0, 1.0)`` for sections 10× thicker than
            the pixel size (used by the distance transform and the smoothing).
    Returns:
        Labels of the same shape, ids ``1..N`` consecutive (uint16 or uint32); in ``per_slice``
        mode every segment lies in one slice.
    """
    config = config or SuperpixelConfig()
    values = np.asarray(boundary, dtype=np.float32)
    if values.ndim not in (2, 3) or values.size == 0:
        raise InputError(None, f"superpixels need a (Y, X) or (Z, Y, X) boundary map, got shape "
                               f"{values.shape}")
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise InputError(None, "superpixels: boundary probabilities must be finite and in [0, 1]")
    spacing = np.ones(values.ndim) if sampling is None else np.asarray(sampling, np.float64)
    if spacing.shape != (values.ndim,) or np.any(spacing <= 0):
        raise InputError(None, f"superpixels: sampling must hold {values.ndim} positive values, "
                               f"got {sampling}")
    if values.ndim == 3 and config.per_slice:
        out = np.zeros(values.shape, np.int64)
        offset = 0
        for z, section in enumerate(values):
            labels = _superpixels(section, config, spacing[1:])
            out[z] = np.where(labels > 0, labels + offset, 0)
            offset = max(offset, int(out[z].max()))
    else:
        out = _superpixels(values, config, spacing)
    ids, inverse = np.unique(out, return_inverse=True)
    return as_labels(inverse.reshape(out.shape) + (1 if ids[0] > 0 else 0))
