"""Object error types as reported by DeepCell / Mesmer evaluations: correct, missed, spurious,
merged, split and catastrophe.

The classification (after Caicedo et al. 2019, as used by the DeepCell toolbox):

1. **correct** — one-to-one matches with IoU ≥ ``correct_iou`` (0.6, i.e. DeepCell's cost cutoff
   0.4: its linear assignment pairs two objects exactly when 1 − IoU is below that cutoff).
2. The objects left over form a bipartite graph: an unmatched GT object and an unmatched
   predicted object are linked when their IoU is ≥ ``link_iou`` (0.1) or when more than half of
   either lies inside the other (so a small object swallowed by a large one stays linked).
3. Each connected group of that graph is one event:

   * a lone GT object → **missed** (false negative); a lone prediction → **spurious** (false
     positive);
   * one GT object + one prediction (overlapping too little to be correct) → one missed and
     one spurious;
   * one prediction linked to several GT objects → a **merge**;
   * one GT object linked to several predictions → a **split**;
   * several of both → a **catastrophe**.

Counts of merges, splits and catastrophes are events; ``merged_true`` / ``split_pred`` /
``catastrophe_true`` / ``catastrophe_pred`` count the objects involved in them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from microseg.errors import InputError
from microseg.metrics.matching import match_overlap
from microseg.metrics.overlap import Overlap, overlap_table


@dataclass(frozen=True)
class ErrorTypes:
    """Error-type counts of one image (or summed over a dataset with ``+``)."""

    n_true: int = 0
    n_pred: int = 0
    correct: int = 0
    missed: int = 0
    spurious: int = 0
    merged: int = 0
    split: int = 0
    catastrophe: int = 0
    merged_true: int = 0
    split_pred: int = 0
    catastrophe_true: int = 0
    catastrophe_pred: int = 0

    def __add__(self, other: "ErrorTypes") -> "ErrorTypes":
        mine, theirs = asdict(self), asdict(other)
        return ErrorTypes(**{k: mine[k] + theirs[k] for k in mine})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_types(gt: np.ndarray, pred: np.ndarray, correct_iou: float = 0.6,
                link_iou: float = 0.1) -> ErrorTypes:
    """Classify the objects of a prediction against GT label images (``(Y, X)`` or ``(Z, Y, X)``).

    >>> gt = np.array([[1, 1, 1, 1, 0, 2, 2, 0, 3, 3]])
    >>> pred = np.array([[5, 5, 6, 6, 0, 7, 7, 0, 0, 0]])   # 1 split in two, 2 correct, 3 missed
    >>> e = error_types(gt, pred)
    >>> e.correct, e.split, e.missed, e.spurious
    (1, 1, 1, 0)
    """
    return error_types_overlap(overlap_table(gt, pred), correct_iou, link_iou)


def error_types_overlap(table: Overlap, correct_iou: float = 0.6,
                        link_iou: float = 0.1) -> ErrorTypes:
    """:func:`error_types` on a precomputed overlap table."""
    if not 0.5 <= correct_iou <= 1.0:
        raise InputError(None, f"correct_iou must be in [0.5, 1], got {correct_iou}")
    if not 0.0 < link_iou <= correct_iou:
        raise InputError(None, f"link_iou must be in (0, correct_iou], got {link_iou}")
    matched = match_overlap(table, correct_iou)
    free_true = ~np.isin(table.gt_ids, matched.gt_ids)
    free_pred = ~np.isin(table.pred_ids, matched.pred_ids)

    iou = table.iou
    inside = np.maximum(table.counts / table.gt_sizes[table.rows],
                        table.counts / table.pred_sizes[table.cols])
    link = ((iou >= link_iou) | (inside > 0.5)) & free_true[table.rows] & free_pred[table.cols]
    rows, cols = table.rows[link], table.cols[link]

    n_t, n_p = table.n_true, table.n_pred
    graph = coo_matrix((np.ones(rows.size), (rows, n_t + cols)), shape=(n_t + n_p,) * 2)
    _, component = connected_components(graph, directed=False)
    is_free = np.concatenate([free_true, free_pred])
    is_true = np.arange(n_t + n_p) < n_t
    groups = component[is_free]
    n_groups = int(component.max()) + 1 if component.size else 0
    trues = np.bincount(groups, weights=is_true[is_free], minlength=n_groups).astype(np.int64)
    preds = np.bincount(groups, weights=~is_true[is_free], minlength=n_groups).astype(np.int64)
    present = (trues + preds) > 0
    trues, preds = trues[present], preds[present]

    lone_true = (trues == 1) & (preds == 0)
    lone_pred = (trues == 0) & (preds == 1)
    pair = (trues == 1) & (preds == 1)
    merge = (preds == 1) & (trues > 1)
    split = (trues == 1) & (preds > 1)
    catastrophe = (trues > 1) & (preds > 1)
    return ErrorTypes(
        n_true=n_t, n_pred=n_p, correct=matched.tp,
        missed=int(lone_true.sum() + pair.sum()), spurious=int(lone_pred.sum() + pair.sum()),
        merged=int(merge.sum()), split=int(split.sum()), catastrophe=int(catastrophe.sum()),
        merged_true=int(trues[merge].sum()), split_pred=int(preds[split].sum()),
        catastrophe_true=int(trues[catastrophe].sum()),
        catastrophe_pred=int(preds[catastrophe].sum()))


def combine_error_types(counts: Iterable[ErrorTypes]) -> ErrorTypes:
    """Sum error-type counts over images."""
    total = ErrorTypes()
    for item in counts:
        total = total + item
    return total
