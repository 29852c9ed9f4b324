"""Pixel-level scores: per-class IoU (Jaccard) and its mean (the MeanIoU of EfficientCellSeg),
and Dice / accuracy / precision / recall / F1 of binary masks.

MeanIoU = (1 / C) Σ_c TP_c / (TP_c + FP_c + FN_c) over the classes c. A class absent from both
ground truth and prediction has no defined IoU (NaN) and is left out of the mean.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from microseg.errors import InputError
from microseg.metrics.overlap import Overlap
from microseg.metrics.scores import PrecisionRecall, nanmean, ratio


@dataclass(frozen=True)
class BinaryScores(PrecisionRecall):
    """Pixel counts of a binary comparison (foreground = nonzero) and the scores derived."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def iou(self) -> float:
        """Jaccard index of the foreground, TP / (TP + FP + FN)."""
        return ratio(self.tp, self.tp + self.fp + self.fn)

    @property
    def dice(self) -> float:
        """2 TP / (2 TP + FP + FN); the pixel F1."""
        return self.f1

    @property
    def accuracy(self) -> float:
        return ratio(self.tp + self.tn, self.tp + self.fp + self.fn + self.tn)

    @property
    def mean_iou(self) -> float:
        """Mean of the foreground and the background IoU (MeanIoU over the two classes)."""
        return nanmean([ratio(self.tn, self.tn + self.fp + self.fn), self.iou])

    def __add__(self, other: "BinaryScores") -> "BinaryScores":
        return BinaryScores(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                            self.tn + other.tn)

    def to_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "iou": self.iou,
                "mean_iou": self.mean_iou, "dice": self.dice, "accuracy": self.accuracy,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


def binary_scores(gt: np.ndarray, pred: np.ndarray) -> BinaryScores:
    """Compare two masks (any shape; nonzero = foreground), e.g. of two label images.

    >>> s = binary_scores(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    >>> s.iou, s.dice, s.accuracy
    (0.3333333333333333, 0.5, 0.5)
    """
    gt, pred = np.asarray(gt) != 0, np.asarray(pred) != 0
    if gt.shape != pred.shape:
        raise InputError(None, f"mask shapes differ: ground truth {gt.shape}, "
                               f"prediction {pred.shape}")
    tp = int(np.count_nonzero(gt & pred))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(np.count_nonzero(gt)) - tp
    return BinaryScores(tp=tp, fp=fp, fn=fn, tn=int(gt.size) - tp - fp - fn)


def binary_scores_overlap(table: Overlap) -> BinaryScores:
    """:func:`binary_scores` of the foregrounds of two label images, from their overlap table."""
    tp = int(table.counts.sum())
    fp = int(table.pred_on_background.sum())
    fn = int(table.gt_on_background.sum())
    return BinaryScores(tp=tp, fp=fp, fn=fn, tn=table.n_pixels - tp - fp - fn)


@dataclass(frozen=True, eq=False)
class ClassIoU:
    """Per-class IoU ``(C,)`` (NaN for classes absent from both images), the confusion matrix
    ``(C, C)`` (rows = GT class, columns = predicted class) and the mean over defined classes."""

    per_class: np.ndarray
    confusion: np.ndarray

    @property
    def mean(self) -> float:
        return nanmean(self.per_class)


def confusion_matrix(gt: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(C, C)`` int64 pixel counts, rows = GT class, columns = predicted class."""
    gt, pred = np.asarray(gt), np.asarray(pred)
    if gt.shape != pred.shape:
        raise InputError(None, f"class map shapes differ: ground truth {gt.shape}, "
                               f"prediction {pred.shape}")
    for name, array in (("ground truth", gt), ("prediction", pred)):
        if array.dtype.kind not in "biu":
            raise InputError(None, f"{name} class map must hold integers, got {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= n_classes):
            raise InputError(None, f"{name} class map holds values outside 0..{n_classes - 1}")
    key = gt.astype(np.int64).ravel() * n_classes + pred.astype(np.int64).ravel()
    return np.bincount(key, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def pixel_iou(gt: np.ndarray, pred: np.ndarray, n_classes: int | None = None) -> ClassIoU:
    """Per-class IoU and MeanIoU of two class maps (integers 0..C-1, any shape).

    ``n_classes`` defaults to 1 + the largest class in either map. For instance label images use
    ``pixel_iou(gt > 0, pred > 0)`` (classes background / cell).

    >>> r = pixel_iou(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]))
    >>> r.per_class.tolist(), r.mean
    ([0.5, 0.6666666666666666], 0.5833333333333333)
    """
    gt, pred = np.asarray(gt), np.asarray(pred)
    if gt.dtype == bool:
        gt = gt.astype(np.uint8)
    if pred.dtype == bool:
        pred = pred.astype(np.uint8)
    if n_classes is None:
        n_classes = 1 + max(int(gt.max(initial=0)), int(pred.max(initial=0)))
    if n_classes < 1:
        raise InputError(None, f"n_classes must be ≥ 1, got {n_classes}")
    confusion = confusion_matrix(gt, pred, n_classes)
    tp = np.diag(confusion).astype(float)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return ClassIoU(per_class=per_class, confusion=confusion)
