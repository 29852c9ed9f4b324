"""Cell Tracking Challenge SEG (Maška et al. 2014) and PESEG (Wagner & Rohr 2022).

SEG: every GT object R is paired with the predicted object S that covers more than half of it
(|R ∩ S| > 0.5 |R|; at most one S can); its score is the Jaccard index |R ∩ S| / |R ∪ S|, or 0
when no S qualifies. SEG is the mean over GT objects — over all objects of all frames for a
dataset, as the challenge computes it (see :func:`combine_seg`). Works in 2D and 3D.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from microseg.errors import InputError
from microseg.metrics.overlap import Overlap, overlap_table


@dataclass(frozen=True, eq=False)
class SegScores:
    """Per-object SEG: ``gt_ids`` ``(G,)``, the Jaccard index of each (0 when unmatched) and the
    id of the predicted object it was paired with (0 when none)."""

    gt_ids: np.ndarray
    jaccard: np.ndarray
    pred_ids: np.ndarray

    @property
    def seg(self) -> float:
        """Mean Jaccard over GT objects; NaN when there is no GT object."""
        return float(self.jaccard.mean()) if self.jaccard.size else float("nan")


def seg_score(gt: np.ndarray, pred: np.ndarray) -> float:
    """CTC SEG of a predicted label image against GT (``(Y, X)`` or ``(Z, Y, X)``).

    NaN when ``gt`` has no object.

    >>> gt = np.array([[1, 1, 1, 1, 0, 2, 2]])
    >>> round(seg_score(gt, np.array([[3, 3, 3, 0, 0, 4, 0]])), 4)  # 3/4 and 0 (half is not enough)
    0.375
    """
    return seg_per_object(gt, pred).seg


def seg_per_object(gt: np.ndarray, pred: np.ndarray) -> SegScores:
    """Per-GT-object SEG values (see :class:`SegScores`)."""
    return seg_overlap(overlap_table(gt, pred))


def seg_overlap(table: Overlap) -> SegScores:
    """:func:`seg_per_object` on a precomputed overlap table."""
    jaccard = np.zeros(table.n_true)
    partner = np.zeros(table.n_true, np.int64)
    covers = 2 * table.counts > table.gt_sizes[table.rows]
    jaccard[table.rows[covers]] = table.iou[covers]
    partner[table.rows[covers]] = table.pred_ids[table.cols[covers]]
    return SegScores(gt_ids=table.gt_ids, jaccard=jaccard, pred_ids=partner)


def combine_seg(scores: Iterable[SegScores]) -> float:
    """Dataset SEG: mean Jaccard over the GT objects of all images (NaN when there are none)."""
    values = [s.jaccard for s in scores]
    merged = np.concatenate(values) if values else np.zeros(0)
    return float(merged.mean()) if merged.size else float("nan")


def peseg(seg: float, n_params: int) -> float:
    """Parameter efficiency of SEG: ``SEG / N × 10⁶`` for a model with ``N`` parameters.

    >>> round(peseg(0.951, 6_700_000), 3)
    0.142
    """
    if n_params <= 0:
        raise InputError(None, f"number of parameters must be positive, got {n_params}")
    return float(seg) / float(n_params) * 1e6
