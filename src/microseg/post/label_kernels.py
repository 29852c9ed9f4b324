"""One-pass numba kernels over label images (flat, C-ordered, any dimensionality): per-label
sizes and peaks, table lookups and selections. Each is faster than its numpy spelling
(``np.bincount``, ``ufunc.at``, ``table[labels]``, ``np.where``) on large images, which matters
in post-processing that runs after every network call.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def label_sizes(labels: np.ndarray, n: int) -> np.ndarray:
    """Pixel count of each label ``0..n-1`` (``np.bincount(labels, minlength=n)``)."""
    sizes = np.zeros(n, np.int64)
    for i in range(labels.size):
        sizes[labels[i]] += 1
    return sizes


@numba.njit(cache=True)
def label_peaks(labels: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Highest of ``values`` (≥ 0, e.g. probabilities) over the pixels of each label ``0..n-1``;
    0 for a label without pixels."""
    peak = np.zeros(n, np.float32)
    for i in range(labels.size):
        if values[i] > peak[labels[i]]:
            peak[labels[i]] = values[i]
    return peak


@numba.njit(cache=True)
def lookup(labels: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[labels]`` for a boolean ``table``."""
    out = np.empty(labels.size, np.bool_)
    for i in range(labels.size):
        out[i] = table[labels[i]]
    return out


@numba.njit(cache=True)
def above_in(values: np.ndarray, threshold: float, labels: np.ndarray,
             table: np.ndarray) -> np.ndarray:
    """``(values > threshold) & table[labels]``."""
    out = np.empty(labels.size, np.bool_)
    for i in range(labels.size):
        out[i] = values[i] > threshold and table[labels[i]]
    return out


@numba.njit(cache=True)
def owners(inner: np.ndarray, outer: np.ndarray, n_inner: int) -> np.ndarray:
    """For each label ``0..n_inner-1`` of ``inner``, the ``outer`` label of one of its pixels
    (0 for absent labels); meaningful when every inner label lies within one outer label."""
    owner = np.zeros(n_inner, outer.dtype)
    for i in range(inner.size):
        if inner[i] != 0:
            owner[inner[i]] = outer[i]
    return owner


def keep_labels(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """A copy of ``labels`` with every label ``l`` where ``keep[l]`` is False set to 0."""
    out = np.ascontiguousarray(labels).copy()
    _zero_unkept(out.ravel(), keep)
    return out


@numba.njit(cache=True)
def _zero_unkept(labels: np.ndarray, keep: np.ndarray) -> None:
    for i in range(labels.size):
        if not keep[labels[i]]:
            labels[i] = 0


@numba.njit(cache=True)
def replace_where(labels: np.ndarray, where: np.ndarray, other: np.ndarray,
                  offset: int) -> np.ndarray:
    """``np.where(where, other + offset, labels)``."""
    out = labels.copy()
    for i in range(labels.size):
        if where[i]:
            out[i] = other[i] + offset
    return out
