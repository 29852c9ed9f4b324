"""A max-heap for numba code with lazy deletion: entries ``(priority, item, stamp)`` live in three
preallocated arrays; an entry whose stamp no longer matches its item's current stamp is stale and
is skipped by the caller when popped (so updating a priority = pushing a new entry)."""
from __future__ import annotations

import numba
import numpy as np


def new_heap(capacity: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty heap arrays ``(priority float64, item int64, stamp int64)`` for ``capacity`` pushes."""
    capacity = max(int(capacity), 1)
    return (np.empty(capacity, np.float64), np.empty(capacity, np.int64),
            np.empty(capacity, np.int64))


@numba.njit(cache=True, inline="always")
def _put(priority, item, stamp, k, p, i, s):
    priority[k] = p
    item[k] = i
    stamp[k] = s


@numba.njit(cache=True)
def heap_push(priority, item, stamp, size, p, i, s):
    """Insert ``(p, i, s)`` into a heap of ``size`` entries; returns the new size."""
    k = size
    while k > 0:
        parent = (k - 1) >> 1
        if priority[parent] >= p:
            break
        _put(priority, item, stamp, k, priority[parent], item[parent], stamp[parent])
        k = parent
    _put(priority, item, stamp, k, p, i, s)
    return size + 1


@numba.njit(cache=True)
def heap_pop(priority, item, stamp, size):
    """Remove the top entry (read it from index 0 first); returns the new size."""
    size -= 1
    if size == 0:
        return 0
    p, i, s = priority[size], item[size], stamp[size]
    k = 0
    while True:
        child = 2 * k + 1
        if child >= size:
            break
        if child + 1 < size and priority[child + 1] > priority[child]:
            child += 1
        if priority[child] <= p:
            break
        _put(priority, item, stamp, k, priority[child], item[child], stamp[child])
        k = child
    _put(priority, item, stamp, k, p, i, s)
    return size
