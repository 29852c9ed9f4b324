"""Small helpers shared by the metric modules: safe ratios, NaN-skipping means, and precision /
recall / F1 from TP / FP / FN counts."""
from __future__ import annotations

from typing import Iterable

import numpy as np


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or NaN when the denominator is 0 (an undefined score)."""
    return float(numerator) / denominator if denominator > 0 else float("nan")


def nanmean(values: Iterable[float]) -> float:
    """Mean of the values that are not NaN; NaN when none is."""
    array = np.asarray(list(values), dtype=float)
    finite = array[~np.isnan(array)]
    return float(finite.mean()) if finite.size else float("nan")


class PrecisionRecall:
    """Mixin for records with integer ``tp``, ``fp`` and ``fn`` attributes (objects or pixels)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """TP / (TP + FP)."""
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """TP / (TP + FN)."""
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall."""
        return ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)
