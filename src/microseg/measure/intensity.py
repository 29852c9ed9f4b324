"""Mean and maximum intensity of every object in one image channel.

One ``ufunc.reduceat`` over the whole channel reduces every constant stretch of every line (see
:class:`~microseg.measure.runs.LabelRuns`); a second one over the object's runs gives the
per-object value. Integer images are summed exactly in int64; floating images in float64.
"""
from __future__ import annotations

import numpy as np

from microseg.measure.runs import LabelRuns


def intensity_mean_max(runs: LabelRuns, channel: np.ndarray,
                       count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-object mean and maximum of ``channel`` (same spatial shape as the labels), ``(n,)``
    float64 each. ``count`` ``(n,)`` is the pixels per object (``Geometry.count``)."""
    if runs.n_objects == 0:
        return np.zeros(0), np.zeros(0)
    flat = np.ascontiguousarray(channel).reshape(-1)
    if flat.dtype == bool:
        flat = flat.view(np.uint8)
    exact = flat.dtype.kind in "iu" and flat.dtype.itemsize < 8
    sums = np.add.reduceat(flat, runs.segment_starts,
                           dtype=np.int64 if exact else np.float64)[runs.segment]
    maxima = np.maximum.reduceat(flat, runs.segment_starts)[runs.segment]
    mean = runs.reduce(np.add, sums) / count
    return mean.astype(np.float64), runs.reduce(np.maximum, maxima).astype(np.float64)
