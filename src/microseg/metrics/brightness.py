"""Recall by object brightness: are dim objects found as often as bright ones?

Each ground-truth object's mean intensity is ranked among the objects of its own image and the
objects are cut into ``bins`` equal-count brightness classes (quintiles by default; class 0 the
dimmest); recall is then counted per class over any number of images. Meant for dark-background
(fluorescence) images, where brightness is signal.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from microseg.errors import InputError
from microseg.metrics.matching import match


@dataclass(frozen=True)
class BrightnessRecall:
    """Objects found (matched at the IoU threshold) and objects present per brightness class,
    dimmest first; ``a + b`` pools two counts."""

    found: np.ndarray
    total: np.ndarray

    @property
    def recall(self) -> np.ndarray:
        """Found / present per class (NaN for an empty class)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.total > 0, self.found / np.maximum(self.total, 1), np.nan)

    def __add__(self, other: "BrightnessRecall") -> "BrightnessRecall":
        if self.total.shape != other.total.shape:
            raise ValueError("brightness classes differ in number")
        return BrightnessRecall(self.found + other.found, self.total + other.total)


def recall_by_brightness(gt: np.ndarray, pred: np.ndarray, image: np.ndarray, bins: int = 5,
                         iou: float = 0.5) -> BrightnessRecall:
    """Per-class recall of ``pred`` against ``gt`` (label images ``(Y, X)``), the classes cut
    by the mean intensity of each GT object in ``image`` ``(Y, X)`` or ``(Y, X, C)`` (channels
    averaged). Ties in brightness keep label order; with fewer objects than ``bins`` some
    classes stay empty."""
    gt, pred, image = np.asarray(gt), np.asarray(pred), np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = image.mean(axis=-1)
    if image.shape != gt.shape:
        raise InputError(None, f"image {image.shape} and labels {gt.shape} differ in shape")
    if bins < 1:
        raise InputError(None, f"bins must be ≥ 1, got {bins}")
    ids = np.unique(gt)
    ids = ids[ids > 0]
    found, total = np.zeros(bins, np.int64), np.zeros(bins, np.int64)
    if ids.size == 0:
        return BrightnessRecall(found, total)
    brightness = np.asarray(ndi.mean(image, gt, ids))
    rank = np.empty(ids.size, np.int64)
    rank[np.argsort(brightness, kind="stable")] = np.arange(ids.size)
    classes = rank * bins // ids.size
    matched = np.isin(ids, match(gt, pred, iou).gt_ids)
    np.add.at(total, classes, 1)
    np.add.at(found, classes, matched.astype(np.int64))
    return BrightnessRecall(found, total)
