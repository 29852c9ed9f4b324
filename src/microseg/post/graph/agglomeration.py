"""Agglomerative clustering of the region graph and the merge height of node pairs.

Two linkages over local edge values in [0, 1] (boundary strength or cut probability):

- single linkage (Kruskal order): the merge height of two nodes is the smallest possible maximum
  edge value over all paths between them (the minimax path);
- mean linkage: clusters joined by the smallest face-size-weighted mean edge value first (the
  contraction engine in mean mode).

Merge heights are read from the dendrogram by lowest common ancestor (binary lifting, numba).
Heights are made monotone (running maximum), so "the clusters at threshold t" are the first
merges whose height is at most t.
"""
from __future__ import annotations

import numba
import numpy as np

from microseg.post.graph.solvers.contraction import Merges, contract_edges, merge_labels


@numba.njit(cache=True)
def _kruskal(n_nodes, uv, weights):
    parent = np.arange(n_nodes)
    order = np.argsort(weights, kind="mergesort")
    keep = np.empty(max(n_nodes - 1, 0), np.int64)
    gone = np.empty(max(n_nodes - 1, 0), np.int64)
    value = np.empty(max(n_nodes - 1, 0), np.float64)
    count = 0
    for e in order:
        roots = np.empty(2, np.int64)
        for k in range(2):
            x = uv[e, k]
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            roots[k] = x
        if roots[0] != roots[1]:
            parent[roots[1]] = roots[0]
            keep[count], gone[count], value[count] = roots[0], roots[1], weights[e]
            count += 1
    return keep[:count], gone[:count], value[:count]


def single_linkage(n_nodes: int, uv: np.ndarray, weights: np.ndarray) -> Merges:
    """Single-linkage merges (minimum spanning forest in increasing weight order)."""
    keep, gone, value = _kruskal(int(n_nodes), np.ascontiguousarray(uv, np.int64),
                                 np.ascontiguousarray(weights, np.float64))
    return Merges(keep, gone, value)


def mean_linkage(n_nodes: int, uv: np.ndarray, values: np.ndarray,
                 weights: np.ndarray) -> Merges:
    """Mean-linkage merges: edge value of two clusters = ``weights``-weighted mean of ``values``
    over all edges between them (weights > 0, e.g. face sizes)."""
    weights = np.asarray(weights, np.float64)
    return contract_edges(n_nodes, uv, np.asarray(values) * weights, weights,
                          np.ones(len(uv), bool), mean_mode=True, stop=-np.inf)


@numba.njit(cache=True)
def _lca_heights(n_nodes, keep, gone, height, pairs):
    n_merges = keep.shape[0]
    total = n_nodes + n_merges
    parent = np.arange(total)
    current = np.arange(n_nodes)
    for k in range(n_merges):
        node = n_nodes + k
        parent[current[keep[k]]] = node
        parent[current[gone[k]]] = node
        current[keep[k]] = node
    depth = np.zeros(total, np.int64)
    for x in range(total - 1, -1, -1):
        if parent[x] != x:
            depth[x] = depth[parent[x]] + 1
    max_depth = depth.max() if total > 0 else 0
    levels = 1
    while (1 << levels) <= max_depth:
        levels += 1
    up = np.empty((levels, total), np.int64)
    up[0] = parent
    for level in range(1, levels):
        for x in range(total):
            up[level, x] = up[level - 1, up[level - 1, x]]
    out = np.empty(pairs.shape[0], np.float64)
    for i in range(pairs.shape[0]):
        a, b = pairs[i, 0], pairs[i, 1]
        if depth[a] < depth[b]:
            a, b = b, a
        diff = depth[a] - depth[b]
        for level in range(levels):
            if (diff >> level) & 1:
                a = up[level, a]
        if a != b:
            for level in range(levels - 1, -1, -1):
                if up[level, a] != up[level, b]:
                    a = up[level, a]
                    b = up[level, b]
            a, b = parent[a], parent[b]
        if a != b:
            out[i] = np.inf
        elif a < n_nodes:
            out[i] = 0.0
        else:
            out[i] = height[a - n_nodes]
    return out


def merge_heights(n_nodes: int, merges: Merges, pairs: np.ndarray) -> np.ndarray:
    """Height ``(len(pairs),)`` at which the two nodes of each pair first share a cluster
    (``inf`` if never; 0 for a node paired with itself)."""
    height = np.maximum.accumulate(merges.value) if len(merges.value) else merges.value
    return _lca_heights(int(n_nodes), merges.keep, merges.gone, np.asarray(height, np.float64),
                        np.ascontiguousarray(pairs, np.int64).reshape(-1, 2))


def clusters_at(n_nodes: int, merges: Merges, threshold: float) -> np.ndarray:
    """Node labels ``(n_nodes,)`` after the merges whose (monotone) height is ``<= threshold``."""
    height = np.maximum.accumulate(merges.value) if len(merges.value) else merges.value
    count = int(np.searchsorted(height, threshold, side="right"))
    return merge_labels(int(n_nodes), merges.keep[:count], merges.gone[:count])
