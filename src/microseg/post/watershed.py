"""Marker-controlled watershed variants that turn predicted maps into instances, 2D and 3D.

- :func:`mesmer_watershed`: inner-distance peaks as markers, interior probability as mask
  (Mesmer, 003_80803871fb41d8b2.txt).
- :func:`distance_watershed`: markers from the distance transform of a foreground mask
  (EfficientCellSeg on TRIC-like data, 000_5abd7b7a9a6a67a4.txt).
- :func:`center_watershed`: markers from a predicted cell-centre heatmap (EfficientCellSeg, MDA231).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.segmentation import watershed

from microseg.post.cleanup import finalize_labels


def seed_markers(surface: np.ndarray, threshold: float, min_distance: int,
             mask: np.ndarray | None = None) -> np.ndarray:
    """Label image with one seed per local maximum of ``surface`` above ``threshold``."""
    peaks = peak_local_max(surface, min_distance=max(int(min_distance), 1),
                           threshold_abs=threshold, exclude_border=False,
                           labels=None if mask is None else mask.astype(np.uint8))
    markers = np.zeros(surface.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return markers


def _smooth(array: np.ndarray, sigma: float | tuple[float, ...]) -> np.ndarray:
    """Gaussian smoothing with one ``sigma`` (pixels) or one per axis; 0 leaves ``array`` as is."""
    array = np.asarray(array, dtype=np.float32)
    return ndi.gaussian_filter(array, sigma) if np.any(np.asarray(sigma) > 0) else array


def mesmer_watershed(inner_distance: np.ndarray, interior: np.ndarray, *,
                     peak_threshold: float = 0.1, interior_threshold: float = 0.3,
                     sigma: float = 1.0, min_distance: int = 5, min_size: int = 15,
                     fill_holes: bool = True) -> np.ndarray:
    """Mesmer post-processing.

    Args:
        inner_distance: predicted inner-distance map ``(Y, X)`` / ``(Z, Y, X)``, values in [0, 1].
        interior: predicted probability of the cell-interior class, same shape.
        peak_threshold: minimum smoothed inner distance of a marker (paper: 0.1).
        interior_threshold: interior probability above which a pixel belongs to a cell (paper: 0.3).
        sigma: Gaussian smoothing of both maps (pixels).
        min_distance: minimum distance between two markers (pixels).
        min_size: objects smaller than this (pixels) are removed (paper: 15).
    Returns:
        Consecutive labels (uint16, or uint32 when needed).
    """
    distance = _smooth(inner_distance, sigma)
    mask = _smooth(interior, sigma) > interior_threshold
    markers = seed_markers(distance, peak_threshold, min_distance, mask)
    labels = watershed(-distance, markers, mask=mask)
    return finalize_labels(labels, min_size=min_size, fill=fill_holes)


def distance_watershed(foreground: np.ndarray, *, threshold: float = 0.5, sigma: float = 1.0,
                       min_distance: int = 5, min_size: int = 15,
                       sampling: tuple[float, ...] | None = None,
                       fill_holes: bool = True) -> np.ndarray:
    """Split a foreground mask into cells along the valleys of its distance transform.

    Args:
        foreground: foreground probability (or a binary mask) ``(Y, X)`` / ``(Z, Y, X)``.
        threshold: probability above which a pixel is foreground.
        sigma: smoothing of the distance transform (pixels) before peak finding.
        min_distance: minimum distance between two markers (pixels).
        sampling: voxel size per axis for anisotropic stacks, e.g. ``(2.0, 1.0, 1.0)``.
    """
    mask = np.asarray(foreground) > threshold
    distance = _smooth(ndi.distance_transform_edt(mask, sampling=sampling), sigma)
    markers = seed_markers(distance, 0.0, min_distance, mask)
    labels = watershed(-distance, markers, mask=mask)
    return finalize_labels(labels, min_size=min_size, fill=fill_holes)


def center_watershed(heatmap: np.ndarray, foreground: np.ndarray, *, peak_threshold: float = 0.3,
                     threshold: float = 0.5, sigma: float = 1.0, min_distance: int = 5,
                     min_size: int = 15, fill_holes: bool = True) -> np.ndarray:
    """Watershed of the foreground with markers at the peaks of a cell-centre heatmap.

    Args:
        heatmap: predicted centre heatmap in [0, 1], same shape as ``foreground``.
        foreground: foreground probability.
        peak_threshold: minimum heatmap value of a marker.
        threshold: probability above which a pixel is foreground.
    """
    mask = np.asarray(foreground) > threshold
    surface = _smooth(heatmap, sigma)
    markers = seed_markers(surface, peak_threshold, min_distance, mask)
    labels = watershed(-surface, markers, mask=mask)
    return finalize_labels(labels, min_size=min_size, fill=fill_holes)
