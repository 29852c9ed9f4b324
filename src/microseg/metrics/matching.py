"""Object-level matching: TP / FP / FN, precision, recall, F1 and "AP" over IoU thresholds.

A GT object and a predicted object can be matched when their IoU is at least the threshold. The
one-to-one assignment is optimal: it maximises the number of matches and, among those, the summed
IoU (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``, run only on the connected
groups of candidate pairs that are not already a lone pair). For thresholds above 0.5 an object can
have at most one candidate, so the assignment is the unique greedy one (at exactly 0.5 a GT object
cut into two equal halves has two candidates; the assignment then takes either).

Scores (StarDist / Data Science Bowl 2018 convention; ``accuracy`` is the DSB "AP"):

* precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2 TP / (2 TP + FP + FN)
* accuracy = TP / (TP + FP + FN)
* mean_matched_iou = summed IoU of matches / TP
* panoptic_quality = summed IoU of matches / (TP + FP / 2 + FN / 2)

A ratio whose denominator is 0 (e.g. precision of an empty prediction) is NaN.

Dataset-level scores (:func:`combine`) sum TP, FP, FN and the matched IoU over images before
taking the ratios, so every object counts the same whatever image it is in; the per-image mean
(``numpy.nanmean`` of the per-image scores, skipping NaN) is the alternative some papers report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from microseg.errors import InputError
from microseg.metrics.overlap import Overlap, overlap_table
from microseg.metrics.scores import PrecisionRecall, nanmean, ratio

#: IoU thresholds 0.50, 0.55, …, 0.95 (the COCO / Mesmer / StarDist sweep).
DEFAULT_THRESHOLDS = np.linspace(0.5, 0.95, 10)


@dataclass(frozen=True)
class Matching(PrecisionRecall):
    """Result of matching GT objects with predicted objects at one IoU ``threshold``.

    ``gt_ids`` / ``pred_ids`` / ``ious`` list the matched pairs (empty after :func:`combine`).
    """

    threshold: float
    tp: int
    fp: int
    fn: int
    sum_matched_iou: float
    gt_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False,
                               compare=False)
    pred_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False,
                                 compare=False)
    ious: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)

    @property
    def n_true(self) -> int:
        return self.tp + self.fn

    @property
    def n_pred(self) -> int:
        return self.tp + self.fp

    @property
    def accuracy(self) -> float:
        """TP / (TP + FP + FN), the "average precision" of the DSB 2018 / StarDist convention."""
        return ratio(self.tp, self.tp + self.fp + self.fn)

    @property
    def mean_matched_iou(self) -> float:
        return ratio(self.sum_matched_iou, self.tp)

    @property
    def panoptic_quality(self) -> float:
        return ratio(self.sum_matched_iou, self.tp + 0.5 * (self.fp + self.fn))

    def to_dict(self) -> dict[str, Any]:
        """Counts and scores as plain Python numbers (no pair lists)."""
        return {"threshold": float(self.threshold), "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "n_true": self.n_true, "n_pred": self.n_pred, "precision": self.precision,
                "recall": self.recall, "f1": self.f1, "accuracy": self.accuracy,
                "mean_matched_iou": self.mean_matched_iou,
                "panoptic_quality": self.panoptic_quality}


def match(gt: np.ndarray, pred: np.ndarray, iou: float = 0.5) -> Matching:
    """Match GT and predicted label images (``(Y, X)`` or ``(Z, Y, X)``) at IoU threshold ``iou``.

    >>> gt = np.array([[1, 1, 0, 2, 2, 2]])
    >>> m = match(gt, np.array([[3, 3, 0, 0, 0, 4]]))
    >>> m.tp, m.fp, m.fn, m.f1
    (1, 1, 1, 0.5)
    """
    return match_overlap(overlap_table(gt, pred), iou)


def match_overlap(table: Overlap, iou: float = 0.5) -> Matching:
    """:func:`match` on a precomputed :class:`~microseg.metrics.overlap.Overlap` table."""
    _check_threshold(iou)
    rows, cols, values = _assign(table, iou)
    tp = int(rows.size)
    return Matching(threshold=float(iou), tp=tp, fp=table.n_pred - tp, fn=table.n_true - tp,
                    sum_matched_iou=float(values.sum()), gt_ids=table.gt_ids[rows],
                    pred_ids=table.pred_ids[cols], ious=values)


@dataclass(frozen=True)
class ThresholdSweep:
    """Matchings of one image (or a combined dataset) at a series of IoU thresholds."""

    matchings: tuple[Matching, ...]

    @property
    def thresholds(self) -> np.ndarray:
        return np.array([m.threshold for m in self.matchings])

    def _scores(self, name: str) -> np.ndarray:
        return np.array([getattr(m, name) for m in self.matchings], dtype=float)

    @property
    def ap(self) -> np.ndarray:
        """TP / (TP + FP + FN) per threshold (DSB 2018 / StarDist "average precision")."""
        return self._scores("accuracy")

    @property
    def precision(self) -> np.ndarray:
        return self._scores("precision")

    @property
    def recall(self) -> np.ndarray:
        return self._scores("recall")

    @property
    def f1(self) -> np.ndarray:
        return self._scores("f1")

    @property
    def mean_ap(self) -> float:
        """Mean of :attr:`ap` over the thresholds (NaN when every threshold is undefined)."""
        return nanmean(self.ap)

    @property
    def mean_f1(self) -> float:
        """Mean F1 over the thresholds (the Mesmer / LIVECell summary over IoU 0.5:0.95)."""
        return nanmean(self.f1)

    def at(self, threshold: float) -> Matching:
        """The matching at ``threshold`` (must be one of :attr:`thresholds`)."""
        index = np.flatnonzero(np.isclose(self.thresholds, threshold))
        if index.size == 0:
            raise InputError(None, f"IoU threshold {threshold} is not in the sweep "
                                   f"{self.thresholds.round(3).tolist()}")
        return self.matchings[int(index[0])]

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": self.thresholds.tolist(), "ap": self.ap.tolist(),
                "precision": self.precision.tolist(), "recall": self.recall.tolist(),
                "f1": self.f1.tolist(), "tp": [m.tp for m in self.matchings],
                "fp": [m.fp for m in self.matchings], "fn": [m.fn for m in self.matchings],
                "mean_ap": self.mean_ap, "mean_f1": self.mean_f1}


def average_precision(gt: np.ndarray, pred: np.ndarray,
                      ious: Sequence[float] | np.ndarray = DEFAULT_THRESHOLDS) -> ThresholdSweep:
    """Match at every IoU threshold of ``ious``; ``.ap`` per threshold, ``.mean_ap`` their mean.

    "AP" here is TP / (TP + FP + FN) (DSB 2018 / StarDist), not COCO's area under the
    interpolated precision-recall curve over ranked detections; label images carry no scores.
    """
    return sweep_overlap(overlap_table(gt, pred), ious)


def sweep_overlap(table: Overlap,
                  ious: Sequence[float] | np.ndarray = DEFAULT_THRESHOLDS) -> ThresholdSweep:
    """:func:`average_precision` on a precomputed overlap table."""
    thresholds = np.atleast_1d(np.asarray(ious, dtype=float))
    if thresholds.size == 0:
        raise InputError(None, "no IoU thresholds given")
    return ThresholdSweep(tuple(match_overlap(table, float(t)) for t in thresholds))


def combine(matchings: Iterable[Matching]) -> Matching:
    """Dataset-level matching: TP, FP, FN and matched IoU summed over images (same threshold)."""
    matchings = list(matchings)
    if not matchings:
        raise InputError(None, "no matchings to combine")
    thresholds = {round(m.threshold, 9) for m in matchings}
    if len(thresholds) > 1:
        raise InputError(None, f"cannot combine matchings at different IoU thresholds "
                               f"{sorted(thresholds)}")
    return Matching(threshold=matchings[0].threshold, tp=sum(m.tp for m in matchings),
                    fp=sum(m.fp for m in matchings), fn=sum(m.fn for m in matchings),
                    sum_matched_iou=float(sum(m.sum_matched_iou for m in matchings)))


def combine_sweeps(sweeps: Iterable[ThresholdSweep]) -> ThresholdSweep:
    """Dataset-level sweep: :func:`combine` per threshold (all sweeps must share thresholds)."""
    sweeps = list(sweeps)
    if not sweeps:
        raise InputError(None, "no threshold sweeps to combine")
    lengths = {len(s.matchings) for s in sweeps}
    if len(lengths) > 1:
        raise InputError(None, "cannot combine sweeps over different IoU thresholds")
    return ThresholdSweep(tuple(combine(group) for group in zip(*(s.matchings for s in sweeps))))


def _check_threshold(iou: float) -> None:
    if not 0.0 < iou <= 1.0:
        raise InputError(None, f"IoU threshold must be in (0, 1], got {iou}")


def _assign(table: Overlap, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Optimal one-to-one matching among pairs with IoU ≥ ``threshold``: (rows, cols, ious)."""
    iou = table.iou
    keep = iou >= threshold
    rows, cols, values = table.rows[keep], table.cols[keep], iou[keep]
    row_degree = np.bincount(rows, minlength=table.n_true)
    col_degree = np.bincount(cols, minlength=table.n_pred)
    lone = (row_degree[rows] == 1) & (col_degree[cols] == 1)
    out_rows, out_cols, out_values = [rows[lone]], [cols[lone]], [values[lone]]
    rows, cols, values = rows[~lone], cols[~lone], values[~lone]
    if rows.size:
        # connected groups of candidate pairs; each group is an independent assignment problem
        n = table.n_true + table.n_pred
        graph = coo_matrix((np.ones(rows.size), (rows, table.n_true + cols)), shape=(n, n))
        _, component = connected_components(graph, directed=False)
        group = component[rows]
        order = np.argsort(group, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
        for members in np.split(order, starts[1:]):
            r, c, v = _solve(rows[members], cols[members], values[members])
            out_rows.append(r), out_cols.append(c), out_values.append(v)
    return np.concatenate(out_rows), np.concatenate(out_cols), np.concatenate(out_values)


def _solve(rows: np.ndarray, cols: np.ndarray, values: np.ndarray):
    """Maximum-cardinality, then maximum-IoU assignment of one group of candidate pairs."""
    r_ids, r = np.unique(rows, return_inverse=True)
    c_ids, c = np.unique(cols, return_inverse=True)
    # weight 1 + IoU / (2 min(n_r, n_c)): any extra match outweighs every IoU difference
    weight = np.zeros((r_ids.size, c_ids.size))
    weight[r, c] = 1.0 + values / (2.0 * min(r_ids.size, c_ids.size))
    iou = np.zeros_like(weight)
    iou[r, c] = values
    ri, ci = linear_sum_assignment(weight, maximize=True)
    chosen = weight[ri, ci] > 0
    ri, ci = ri[chosen], ci[chosen]
    return r_ids[ri], c_ids[ci], iou[ri, ci]
