"""Edge features of the region adjacency graph, all grouped reductions over face pixel pairs or
per-region sums (no loop over pixels or edges).

Local edge features (:data:`LOCAL_FEATURES`): statistics of the boundary map, of a smoothed
boundary map and of the raw image over the face (both pixels of every pair), face size and the
fraction of it made of steps between sections, and features of the two regions. Region pair
features (:data:`REGION_PAIR_FEATURES`) are shared with the lifted edges.

Bump :data:`FEATURES_VERSION` whenever a feature is added, removed or computed differently: a
saved edge classifier records it and refuses to run on other features.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

from microseg.errors import InputError
from microseg.post.graph.rag import RegionGraph

FEATURES_VERSION = 1

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
STATISTICS = ("mean", "std", "min", "max", *(f"q{round(100 * q)}" for q in QUANTILES))
REGION_PAIR_FEATURES = ("log_size_min", "log_size_max", "size_ratio", "raw_mean_diff",
                        "region_boundary_min", "region_boundary_max", "region_boundary_diff",
                        "centroid_distance_yx", "centroid_distance_z")
LOCAL_FEATURES = (*(f"{image}_{stat}" for image in ("boundary", "smooth_boundary", "raw")
                    for stat in STATISTICS),
                  "log_face_size", "face_fraction_z", *REGION_PAIR_FEATURES)


def grouped_statistics(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean, std, min, max and the :data:`QUANTILES` (linear interpolation, as ``np.quantile``)
    of ``values`` per group; ``(n_groups, 9)`` float64, zeros for empty groups.

    One sort by (group, value) serves min, max and all quantiles.

    >>> grouped_statistics(np.array([0, 0, 1]), np.array([1.0, 3.0, 5.0]), 2)[:, :4].tolist()
    [[2.0, 1.0, 1.0, 3.0], [5.0, 0.0, 5.0, 5.0]]
    """
    groups = np.asarray(groups, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    counts = np.bincount(groups, minlength=n_groups)
    present = counts > 0
    safe = np.maximum(counts, 1)
    mean = np.bincount(groups, weights=values, minlength=n_groups) / safe
    centred = values - mean[groups]
    std = np.sqrt(np.bincount(groups, weights=centred * centred, minlength=n_groups) / safe)
    ordered = values[np.lexsort((values, groups))]
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.zeros((n_groups, len(STATISTICS)))
    out[:, 0], out[:, 1] = mean, std
    columns = [0.0, 1.0, *QUANTILES]
    for k, q in enumerate(columns, start=2):
        position = q * (counts[present] - 1)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, counts[present] - 1)
        frac = position - below
        base = start[present]
        out[present, k] = (ordered[base + below] * (1 - frac) + ordered[base + above] * frac)
    return out


def face_statistics(graph: RegionGraph, image: np.ndarray) -> np.ndarray:
    """:func:`grouped_statistics` ``(E, 9)`` of ``image`` over every face, sampling the pixels on
    both sides of each pixel pair."""
    flat = np.asarray(image, dtype=np.float64).reshape(-1)
    groups = np.concatenate([graph.face_edge, graph.face_edge])
    values = np.concatenate([flat[graph.face_a], flat[graph.face_b]])
    return grouped_statistics(groups, values, graph.n_edges)


@dataclass(frozen=True, eq=False)
class RegionTable:
    """Per node (label id): ``sizes`` (pixels), ``raw_mean``, ``boundary_mean`` and ``centroids``
    ``(n_nodes, ndim)`` in physical units (pixel index × ``sampling``)."""

    sizes: np.ndarray
    raw_mean: np.ndarray
    boundary_mean: np.ndarray
    centroids: np.ndarray


def region_table(labels: np.ndarray, boundary: np.ndarray, raw: np.ndarray, n_nodes: int,
                 sampling: Sequence[float] | None = None) -> RegionTable:
    """Region sizes, mean raw and boundary values and centroids of every label ``0..n_nodes-1``."""
    flat = np.asarray(labels, dtype=np.int64).reshape(-1)
    sizes = np.bincount(flat, minlength=n_nodes).astype(np.float64)
    safe = np.maximum(sizes, 1)
    raw_mean = np.bincount(flat, weights=np.asarray(raw, np.float64).reshape(-1),
                           minlength=n_nodes) / safe
    boundary_mean = np.bincount(flat, weights=np.asarray(boundary, np.float64).reshape(-1),
                                minlength=n_nodes) / safe
    spacing = np.ones(labels.ndim) if sampling is None else np.asarray(sampling, np.float64)
    centroids = np.empty((n_nodes, labels.ndim))
    for axis, length in enumerate(labels.shape):
        index = np.arange(length, dtype=np.float64).reshape(
            [-1 if a == axis else 1 for a in range(labels.ndim)])
        coordinate = np.broadcast_to(index, labels.shape).reshape(-1)
        centroids[:, axis] = spacing[axis] * np.bincount(flat, weights=coordinate,
                                                         minlength=n_nodes) / safe
    return RegionTable(sizes, raw_mean, boundary_mean, centroids)


def region_pair_features(regions: RegionTable, uv: np.ndarray) -> np.ndarray:
    """:data:`REGION_PAIR_FEATURES` ``(len(uv), 9)`` of the two regions of every node pair."""
    u, v = uv[:, 0], uv[:, 1]
    size_u, size_v = regions.sizes[u], regions.sizes[v]
    small, large = np.minimum(size_u, size_v), np.maximum(size_u, size_v)
    bu, bv = regions.boundary_mean[u], regions.boundary_mean[v]
    step = regions.centroids[u] - regions.centroids[v]
    in_plane = np.sqrt((step[:, -2:] ** 2).sum(axis=1))
    along_z = np.abs(step[:, 0]) if step.shape[1] == 3 else np.zeros(len(uv))
    return np.stack([np.log1p(small), np.log1p(large), small / np.maximum(large, 1),
                     np.abs(regions.raw_mean[u] - regions.raw_mean[v]), np.minimum(bu, bv),
                     np.maximum(bu, bv), np.abs(bu - bv), in_plane, along_z], axis=1)


def smooth_boundary(boundary: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of the boundary map within each section (no smoothing along z)."""
    sigmas = (0.0,) * (boundary.ndim - 2) + (sigma, sigma)
    return ndi.gaussian_filter(np.asarray(boundary, np.float32), sigmas)


def local_edge_features(graph: RegionGraph, regions: RegionTable, boundary: np.ndarray,
                        raw: np.ndarray, sigma: float = 1.6) -> np.ndarray:
    """:data:`LOCAL_FEATURES` ``(E, F)`` float64 for the edges of ``graph``.

    Args:
        graph: region adjacency graph of the superpixels.
        regions: :func:`region_table` of the same superpixels.
        boundary: boundary probabilities, same shape as the superpixels.
        raw: raw image (normalised to [0, 1] by the caller), same shape.
        sigma: in-plane smoothing (pixels) of the second boundary map.
    """
    for name, image in (("boundary", boundary), ("raw", raw)):
        if np.shape(image) != graph.shape:
            raise InputError(None, f"edge features: {name} has shape {np.shape(image)}, the "
                                   f"superpixels {graph.shape}")
    sizes = graph.face_sizes()
    z_sizes = graph.face_sizes(axes=(0,)) if len(graph.shape) == 3 else np.zeros(graph.n_edges)
    return np.concatenate([
        face_statistics(graph, boundary),
        face_statistics(graph, smooth_boundary(boundary, sigma)),
        face_statistics(graph, raw),
        np.log1p(sizes)[:, None], (z_sizes / np.maximum(sizes, 1))[:, None],
        region_pair_features(regions, graph.uv_ids)], axis=1)
