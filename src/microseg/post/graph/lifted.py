"""Lifted edges and their features: all pairs of nodes that are not neighbours but lie within
graph distance ``d`` of each other in the region adjacency graph (breadth-first search from every
node, numba), described by path, agglomeration and region features."""
from __future__ import annotations

from typing import Sequence

import numba
import numpy as np

from microseg.errors import ConfigError, InputError
from microseg.post.graph.agglomeration import clusters_at, mean_linkage, merge_heights, \
    single_linkage
from microseg.post.graph.features import REGION_PAIR_FEATURES, RegionTable, region_pair_features
from microseg.post.graph.rag import RegionGraph
from microseg.post.graph.solvers.kernighan_lin import merged_adjacency
from microseg.post.graph.solvers.problem import check_edges, check_n_nodes


@numba.njit(cache=True)
def _within_distance(indptr, nbr, max_hops):
    n = indptr.shape[0] - 1
    seen = np.full(n, -1, np.int64)
    hops = np.zeros(n, np.int64)
    queue = np.empty(n, np.int64)
    capacity = max(4 * n, 16)
    out_u = np.empty(capacity, np.int64)
    out_v = np.empty(capacity, np.int64)
    out_h = np.empty(capacity, np.int64)
    count = 0
    for source in range(n):
        seen[source] = source
        hops[source] = 0
        queue[0] = source
        head, tail = 0, 1
        while head < tail:
            x = queue[head]
            head += 1
            if hops[x] == max_hops:
                continue
            for j in range(indptr[x], indptr[x + 1]):
                w = nbr[j]
                if seen[w] == source:
                    continue
                seen[w] = source
                hops[w] = hops[x] + 1
                queue[tail] = w
                tail += 1
                if w > source and hops[w] >= 2:
                    if count == capacity:
                        capacity *= 2
                        out_u = np.concatenate((out_u, np.empty(capacity - count, np.int64)))
                        out_v = np.concatenate((out_v, np.empty(capacity - count, np.int64)))
                        out_h = np.concatenate((out_h, np.empty(capacity - count, np.int64)))
                    out_u[count] = source
                    out_v[count] = w
                    out_h[count] = hops[w]
                    count += 1
    return out_u[:count], out_v[:count], out_h[:count]


def lifted_edges(n_nodes: int, uv_ids: np.ndarray, distance: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of nodes at graph distance ``2..distance`` in the graph ``uv_ids``.

    Returns:
        ``lifted_uv`` ``(L, 2)`` int64 with ``u < v``, sorted, and ``hops`` ``(L,)`` int64, the
        length of the shortest path between them (in edges).

    >>> lifted_edges(4, np.array([[0, 1], [1, 2], [2, 3]]), 2)[0].tolist()
    [[0, 2], [1, 3]]
    """
    n_nodes = check_n_nodes(n_nodes)
    uv, _ = check_edges(n_nodes, uv_ids, np.zeros(len(np.asarray(uv_ids).reshape(-1, 2))))
    if isinstance(distance, bool) or not isinstance(distance, (int, np.integer)) or distance < 1:
        raise ConfigError(f"lifted edge distance must be an integer >= 1, got {distance!r}")
    indptr, nbr, _, _ = merged_adjacency(n_nodes, uv, np.zeros(len(uv)), np.ones(len(uv), bool))
    u, v, hops = _within_distance(indptr, nbr, int(distance))
    return np.stack([u, v], axis=1), hops


def lifted_feature_names(thresholds: Sequence[float]) -> tuple[str, ...]:
    """Column names of :func:`lifted_edge_features` for agglomeration ``thresholds``."""
    per_threshold = tuple(f"{name}_t{round(100 * t)}" for t in thresholds
                          for name in ("joined", "log_cluster_min", "log_cluster_max"))
    return ("hops", "minimax_boundary", "minimax_probability", "mean_linkage_height",
            *per_threshold, *REGION_PAIR_FEATURES)


def lifted_edge_features(graph: RegionGraph, regions: RegionTable, lifted_uv: np.ndarray,
                         hops: np.ndarray, edge_boundary: np.ndarray,
                         edge_probability: np.ndarray,
                         thresholds: Sequence[float] = (0.3, 0.5, 0.7)) -> np.ndarray:
    """Features ``(L, F)`` of lifted edges (names: :func:`lifted_feature_names`).

    Args:
        graph: the region adjacency graph (local edges).
        regions: :func:`~microseg.post.graph.features.region_table` of its nodes.
        lifted_uv, hops: from :func:`lifted_edges`.
        edge_boundary: ``(E,)`` mean boundary value of every local edge's face.
        edge_probability: ``(E,)`` cut probability of every local edge (edge classifier, or the
            boundary mean when there is none).
        thresholds: mean-linkage agglomeration levels; at each, whether the two nodes are in one
            cluster and the sizes (pixels) of their two clusters.

    Columns: graph distance; minimax path value of the boundary and of the cut probability
    (single linkage); mean-linkage merge height; per threshold joined / log cluster sizes; region
    pair features of the two ends.
    """
    n = graph.n_nodes
    uv = graph.uv_ids
    sizes = graph.face_sizes().astype(np.float64)
    mean_merges = mean_linkage(n, uv, edge_probability, np.maximum(sizes, 1.0))
    columns = [np.asarray(hops, np.float64),
               merge_heights(n, single_linkage(n, uv, edge_boundary), lifted_uv),
               merge_heights(n, single_linkage(n, uv, edge_probability), lifted_uv),
               merge_heights(n, mean_merges, lifted_uv)]
    for threshold in thresholds:
        clusters = clusters_at(n, mean_merges, threshold)
        cluster_size = np.bincount(clusters, weights=regions.sizes, minlength=n)
        size_u, size_v = cluster_size[clusters[lifted_uv[:, 0]]], \
            cluster_size[clusters[lifted_uv[:, 1]]]
        columns += [(clusters[lifted_uv[:, 0]] == clusters[lifted_uv[:, 1]]).astype(np.float64),
                    np.log1p(np.minimum(size_u, size_v)), np.log1p(np.maximum(size_u, size_v))]
    if not np.all(np.isfinite(columns[1])):
        raise InputError(None, "lifted edge features: a lifted edge joins nodes that no path of "
                               "local edges connects")
    return np.concatenate([np.stack(columns, axis=1), region_pair_features(regions, lifted_uv)],
                          axis=1)
