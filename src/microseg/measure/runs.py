"""A label image as runs: maximal stretches of one label along the last axis (X).

Every per-object measurement in :mod:`microseg.measure` is a reduction over runs instead of over
pixels. A dense 2048 × 2048 image of 6,000 nuclei holds about 100,000 runs for 1.1 million
foreground pixels, and the sums a run contributes (pixel count, Σx, Σx², …) have closed forms, so
moments, bounding boxes and convex hulls cost a pass over the runs, not over the pixels. The only
per-pixel work is one comparison of neighbouring labels and, for intensities, one
``ufunc.reduceat`` over the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class LabelRuns:
    """Foreground runs of a label image of spatial shape ``shape`` (``(Y, X)`` or ``(Z, Y, X)``).

    Runs are grouped by object and, within an object, in raster order (line, then x).

    ``ids`` ``(n,)``: the object labels present, increasing. ``offsets`` ``(n + 1,)``: object ``k``
    owns runs ``offsets[k]:offsets[k + 1]``. Per run ``(m,)``: ``line``, the flat index of its image
    line over all axes but the last (``y`` in 2D, ``z * Y + y`` in 3D); ``x0`` / ``x1``, its first
    and last pixel along X (inclusive); ``segment``, its index into ``segment_starts``.
    ``segment_starts`` ``(s,)`` holds the flat pixel index at which every constant stretch of a line
    starts, background stretches included, so ``ufunc.reduceat(image.ravel(), segment_starts)``
    reduces an image over all stretches at once.
    """

    shape: tuple[int, ...]
    ids: np.ndarray
    offsets: np.ndarray
    line: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    segment: np.ndarray
    segment_starts: np.ndarray

    @property
    def n_objects(self) -> int:
        """Number of objects (labels other than 0)."""
        return int(self.ids.size)

    @property
    def length(self) -> np.ndarray:
        """Pixels per run, ``(m,)`` int64."""
        return self.x1 - self.x0 + 1

    def object_of_run(self) -> np.ndarray:
        """Index of the object each run belongs to, ``(m,)`` intp."""
        return np.repeat(np.arange(self.n_objects), np.diff(self.offsets))

    def reduce(self, ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
        """Reduce per-run ``values`` ``(m, ...)`` to per-object values ``(n, ...)`` with ``ufunc``
        (``np.add``, ``np.minimum``, ``np.maximum``)."""
        return ufunc.reduceat(values, self.offsets[:-1], axis=0)


def label_runs(labels: np.ndarray) -> LabelRuns:
    """Decompose ``labels`` (any shape with ≥ 1 axis; 0 = background) into :class:`LabelRuns`.

    >>> runs = label_runs(np.array([[0, 2, 2], [1, 1, 2]]))
    >>> runs.ids.tolist(), runs.x0.tolist(), runs.x1.tolist()
    ([1, 2], [0, 1, 2], [1, 2, 2])
    """
    labels = np.ascontiguousarray(labels)
    shape = tuple(int(s) for s in labels.shape)
    flat = labels.reshape(-1)
    if flat.size == 0:
        return _empty(shape)
    width = shape[-1]
    change = flat[1:] != flat[:-1]
    change[width - 1::width] = True  # a line end always closes a stretch
    segment_starts = np.empty(np.count_nonzero(change) + 1, np.intp)
    segment_starts[0] = 0
    np.add(np.flatnonzero(change), 1, out=segment_starts[1:])
    segment_labels = flat[segment_starts]
    foreground = np.flatnonzero(segment_labels)
    if foreground.size == 0:
        return _empty(shape)
    starts = segment_starts[foreground]
    stops = np.append(segment_starts[1:], flat.size)[foreground]
    run_labels = segment_labels[foreground]
    order = np.argsort(run_labels, kind="stable")  # stable: raster order within an object
    sorted_labels = run_labels[order]
    first = np.flatnonzero(sorted_labels[1:] != sorted_labels[:-1]) + 1
    offsets = np.concatenate(([0], first, [sorted_labels.size])).astype(np.intp)
    starts = starts[order]
    line, x0 = np.divmod(starts.astype(np.int64), width)
    return LabelRuns(shape=shape, ids=sorted_labels[offsets[:-1]], offsets=offsets, line=line,
                     x0=x0, x1=x0 + (stops[order] - starts) - 1, segment=foreground[order],
                     segment_starts=segment_starts)


def _empty(shape: tuple[int, ...]) -> LabelRuns:
    none = np.zeros(0, np.int64)
    return LabelRuns(shape=shape, ids=np.zeros(0, np.int64), offsets=np.zeros(1, np.intp),
                     line=none, x0=none, x1=none, segment=np.zeros(0, np.intp),
                     segment_starts=np.zeros(0, np.intp))
