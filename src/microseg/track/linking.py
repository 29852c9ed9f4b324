"""Frame-to-frame linking: gated candidate pairs, their costs, and the optimal one-to-one links.

Candidates are the pairs of objects whose centroids lie within the gate (a k-d tree query) plus
the pairs that overlap (from :func:`microseg.metrics.overlap.overlap_table` of the two label images).
Their costs combine overlap and feature differences (see :class:`~microseg.track.config.
TrackConfig`), and :func:`~microseg.track.assignment.assign` picks the set of links that
minimises the total cost, where every object left unlinked costs ``no_link_cost`` (a track end
in the earlier frame, a track start in the later one).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from microseg.metrics.overlap import Overlap
from microseg.track.assignment import assign
from microseg.track.config import TrackConfig
from microseg.track.features import ObjectFeatures


@dataclass(frozen=True, eq=False)
class Candidates:
    """Gated pairs between two frames: rows ``prev`` and ``curr`` ``(k,)`` of the two frames'
    features, centroid ``distance`` and ``iou`` ``(k,)``, and the ``gate`` used."""

    prev: np.ndarray
    curr: np.ndarray
    distance: np.ndarray
    iou: np.ndarray
    gate: float


@dataclass(frozen=True, eq=False)
class Links:
    """Chosen one-to-one links: object ``prev[k]`` of the earlier frame continues as object
    ``curr[k]`` of the later one (feature rows), at ``cost[k]``."""

    prev: np.ndarray
    curr: np.ndarray
    cost: np.ndarray

    def successor(self, n_prev: int) -> np.ndarray:
        """Row of the linked object in the later frame for each of ``n_prev`` rows, -1 if none."""
        out = np.full(n_prev, -1, np.int64)
        out[self.prev] = self.curr
        return out

    def predecessor(self, n_curr: int) -> np.ndarray:
        """Row of the linked object in the earlier frame for each of ``n_curr`` rows, -1 if none."""
        out = np.full(n_curr, -1, np.int64)
        out[self.curr] = self.prev
        return out


def gate_distance(prev: ObjectFeatures, curr: ObjectFeatures, config: TrackConfig) -> float:
    """The gate between two frames: ``config.max_distance``, or ``distance_factor`` times the
    median equivalent diameter of all objects of both frames."""
    if config.max_distance is not None:
        return float(config.max_distance)
    radii = np.concatenate([prev.radius, curr.radius])
    return float(config.distance_factor * 2.0 * np.median(radii)) if radii.size else 1.0


def candidate_pairs(prev: ObjectFeatures, curr: ObjectFeatures, overlap: Overlap | None,
                    gate: float) -> Candidates:
    """Pairs with centroids at most ``gate`` apart or sharing pixels (``overlap``: the overlap
    table of the earlier frame's labels as ``gt`` and the later frame's as ``pred``)."""
    empty = np.zeros(0, np.int64)
    if len(prev) == 0 or len(curr) == 0:
        return Candidates(empty, empty, np.zeros(0), np.zeros(0), gate)
    near = cKDTree(prev.centroid).sparse_distance_matrix(cKDTree(curr.centroid), gate,
                                                         output_type="ndarray")
    i, j = near["i"].astype(np.int64), near["j"].astype(np.int64)
    iou_keys, iou_values = np.zeros(0, np.int64), np.zeros(0)
    if overlap is not None and overlap.counts.size:
        oi = prev.index_of(overlap.gt_ids[overlap.rows])
        oj = curr.index_of(overlap.pred_ids[overlap.cols])
        iou_keys, iou_values = oi * len(curr) + oj, overlap.iou
        order = np.argsort(iou_keys)
        iou_keys, iou_values = iou_keys[order], iou_values[order]
    keys = np.union1d(i * len(curr) + j, iou_keys)
    i, j = np.divmod(keys, len(curr))
    distance = np.linalg.norm(curr.centroid[j] - prev.centroid[i], axis=1)
    iou = np.zeros(keys.size)
    if iou_keys.size:
        at = np.minimum(np.searchsorted(iou_keys, keys), iou_keys.size - 1)
        found = iou_keys[at] == keys
        iou[found] = iou_values[at[found]]
    return Candidates(i.astype(np.int64), j.astype(np.int64), distance, iou, gate)


def link_costs(prev: ObjectFeatures, curr: ObjectFeatures, pairs: Candidates,
               config: TrackConfig) -> np.ndarray:
    """Cost ``(k,)`` of every candidate pair (the formula of :class:`TrackConfig`)."""
    i, j = pairs.prev, pairs.curr
    cost = config.overlap_weight * (1.0 - pairs.iou)
    cost = cost + config.distance_weight * np.minimum(pairs.distance / pairs.gate, 1.0)
    cost = cost + config.size_weight * np.abs(np.log(curr.size[j] / prev.size[i]))
    shape = (np.abs(np.log(curr.aspect[j] / prev.aspect[i]))
             + np.abs(curr.solidity[j] - prev.solidity[i]))
    cost = cost + config.shape_weight * shape
    if prev.has_intensity and curr.has_intensity:
        a, b = prev.mean_intensity[i], curr.mean_intensity[j]
        top = np.maximum(a, b)
        change = np.divide(np.abs(b - a), top, out=np.zeros_like(top), where=top > 0)
        cost = cost + config.intensity_weight * change
    return cost


def link_frames(prev: ObjectFeatures, curr: ObjectFeatures, overlap: Overlap | None,
                config: TrackConfig, prev_allowed: np.ndarray | None = None,
                curr_allowed: np.ndarray | None = None,
                no_link_cost: float | None = None) -> Links:
    """Optimal one-to-one links from ``prev`` to ``curr`` (see the module docstring).

    ``prev_allowed`` / ``curr_allowed`` (boolean ``(n,)``) restrict which objects may be linked
    and ``no_link_cost`` replaces ``config.no_link_cost`` (gap closing links only track ends to
    track starts, at ``config.gap_cost``)."""
    pairs = candidate_pairs(prev, curr, overlap, gate_distance(prev, curr, config))
    keep = np.ones(pairs.prev.size, bool)
    if prev_allowed is not None:
        keep &= prev_allowed[pairs.prev]
    if curr_allowed is not None:
        keep &= curr_allowed[pairs.curr]
    pairs = Candidates(pairs.prev[keep], pairs.curr[keep], pairs.distance[keep], pairs.iou[keep],
                       pairs.gate)
    costs = link_costs(prev, curr, pairs, config)
    unlinked = config.no_link_cost if no_link_cost is None else no_link_cost
    rows, cols = assign(len(prev), len(curr), pairs.prev, pairs.curr, costs, unlinked, unlinked)
    keys = pairs.prev * len(curr) + pairs.curr  # increasing (from np.union1d)
    return Links(rows, cols, costs[np.searchsorted(keys, rows * len(curr) + cols)])
