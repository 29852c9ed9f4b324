"""The overlap (contingency) table of two label images — the one computation every object metric
shares.

For ground truth ``gt`` and prediction ``pred`` of the same shape (``(Y, X)`` or ``(Z, Y, X)``,
0 = background) the table counts, for every pair of a GT object and a predicted object that share
pixels, how many pixels they share, plus each object's size and how much of it lies on the other
image's background. It is computed in one pass over the pixels (``np.bincount`` on paired compact
ids, or ``np.unique`` when the table would be too large to hold densely) — never per object pair.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microseg.errors import InputError
from microseg.io.images import as_labels

#: Largest dense table (cells) counted with ``np.bincount``; larger ones use ``np.unique``.
DENSE_TABLE_LIMIT = 1 << 25


@dataclass(frozen=True, eq=False)
class Overlap:
    """Contingency of two label images, restricted to the object pairs that share pixels.

    ``gt_ids`` ``(G,)`` and ``pred_ids`` ``(P,)`` are the object ids present (sorted, no 0);
    ``gt_sizes`` / ``pred_sizes`` their pixel counts; pair ``k`` is GT object ``gt_ids[rows[k]]``
    with predicted object ``pred_ids[cols[k]]`` sharing ``counts[k]`` pixels. ``gt_on_background``
    ``(G,)`` counts each GT object's pixels where ``pred == 0`` and ``pred_on_background`` ``(P,)``
    each predicted object's pixels where ``gt == 0``. ``n_pixels`` is the number of pixels compared.
    """

    gt_ids: np.ndarray
    pred_ids: np.ndarray
    gt_sizes: np.ndarray
    pred_sizes: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray
    gt_on_background: np.ndarray
    pred_on_background: np.ndarray
    n_pixels: int

    @property
    def n_true(self) -> int:
        return int(self.gt_ids.size)

    @property
    def n_pred(self) -> int:
        return int(self.pred_ids.size)

    @property
    def iou(self) -> np.ndarray:
        """Intersection over union of every overlapping pair, ``(K,)`` float64."""
        union = self.gt_sizes[self.rows] + self.pred_sizes[self.cols] - self.counts
        return self.counts / np.maximum(union, 1)

    def iou_matrix(self) -> np.ndarray:
        """Dense ``(G, P)`` IoU matrix (zeros where objects do not touch). Memory grows as G·P."""
        matrix = np.zeros((self.n_true, self.n_pred))
        matrix[self.rows, self.cols] = self.iou
        return matrix


def check_pair(gt: np.ndarray, pred: np.ndarray, gt_name: str | Path | None = None,
               pred_name: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate two label images for comparison and return them as unsigned label arrays.

    Raises :class:`InputError` when either is not a label image (negative or fractional values)
    or when their shapes differ (the message names both inputs when names are given).
    """
    gt = as_labels(np.asarray(gt), gt_name)
    pred = as_labels(np.asarray(pred), pred_name)
    if gt.shape != pred.shape:
        gt_label = f"ground truth {gt_name}" if gt_name is not None else "ground truth"
        raise InputError(pred_name, f"prediction shape {pred.shape} does not match the "
                                    f"{gt_label} shape {gt.shape}")
    if gt.size == 0:
        raise InputError(gt_name, "label images are empty (no pixels)")
    return gt, pred


def overlap_table(gt: np.ndarray, pred: np.ndarray) -> Overlap:
    """Overlap table of ground-truth and predicted label images of the same shape (any ndim).

    >>> gt = np.array([[1, 1, 0], [2, 2, 2]])
    >>> pred = np.array([[5, 5, 5], [0, 7, 7]])
    >>> ov = overlap_table(gt, pred)
    >>> ov.gt_ids.tolist(), ov.pred_ids.tolist(), ov.counts.tolist(), ov.iou.round(3).tolist()
    ([1, 2], [5, 7], [2, 2], [0.667, 0.667])
    """
    gt, pred = check_pair(gt, pred)
    gt_ids, g = _compact(gt.ravel())
    pred_ids, p = _compact(pred.ravel())
    n_g, n_p = gt_ids.size + 1, pred_ids.size + 1
    key = g.astype(np.int64) * n_p + p
    if n_g * n_p <= DENSE_TABLE_LIMIT:
        table = np.bincount(key, minlength=n_g * n_p)
        keys = np.flatnonzero(table)
        values = table[keys]
    else:
        keys, values = np.unique(key, return_counts=True)
    r, c = keys // n_p, keys % n_p
    values = values.astype(np.int64)
    gt_sizes = np.bincount(r, weights=values, minlength=n_g)[1:].astype(np.int64)
    pred_sizes = np.bincount(c, weights=values, minlength=n_p)[1:].astype(np.int64)
    both = (r > 0) & (c > 0)
    gt_bg = np.zeros(n_g - 1, np.int64)
    on_bg = (r > 0) & (c == 0)
    gt_bg[r[on_bg] - 1] = values[on_bg]
    pred_bg = np.zeros(n_p - 1, np.int64)
    on_bg = (r == 0) & (c > 0)
    pred_bg[c[on_bg] - 1] = values[on_bg]
    return Overlap(gt_ids=gt_ids, pred_ids=pred_ids, gt_sizes=gt_sizes, pred_sizes=pred_sizes,
                   rows=r[both] - 1, cols=c[both] - 1, counts=values[both],
                   gt_on_background=gt_bg, pred_on_background=pred_bg, n_pixels=int(gt.size))


def _compact(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Object ids present in ``flat`` (sorted, without 0) and ``flat`` mapped to 0 (background)
    or 1..N (position of the id + 1), as int32."""
    largest = int(flat.max())
    if largest <= 4 * flat.size + 65536:
        present = np.bincount(flat, minlength=largest + 1) > 0
        present[0] = False
        ids = np.flatnonzero(present)
        lut = np.zeros(largest + 1, np.int32)
        lut[ids] = np.arange(1, ids.size + 1, dtype=np.int32)
        return ids.astype(np.int64), lut[flat]
    ids, inverse = np.unique(flat, return_inverse=True)
    inverse = inverse.astype(np.int32).reshape(-1)
    if ids[0] == 0:
        return ids[1:].astype(np.int64), inverse
    return ids.astype(np.int64), inverse + 1
