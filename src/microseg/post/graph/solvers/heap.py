"""Max-heaps for numba code.

* A heap with lazy deletion: entries ``(priority, item, stamp)`` live in three preallocated
  arrays; an entry whose stamp no longer matches its item's current stamp is stale and is skipped
  by the caller when popped (so updating a priority = pushing a new entry).
* An indexed heap (:func:`indexed_set`, :func:`indexed_remove`): at most one entry per item, whose
  slot is kept in ``where``, so priorities change in place and the heap never holds stale entries.
"""
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


# --- indexed max-heap: one entry per item, priorities changed in place ----------------------------
# ``priority`` / ``item`` hold the heap, ``where[i]`` the slot of item ``i`` (-1: not in the heap).

@numba.njit(cache=True)
def _sift_up(priority, item, where, k):
    p, i = priority[k], item[k]
    while k > 0:
        parent = (k - 1) >> 1
        if priority[parent] >= p:
            break
        priority[k], item[k] = priority[parent], item[parent]
        where[item[k]] = k
        k = parent
    priority[k], item[k] = p, i
    where[i] = k


@numba.njit(cache=True)
def _sift_down(priority, item, where, size, k):
    p, i = priority[k], item[k]
    while True:
        child = 2 * k + 1
        if child >= size:
            break
        if child + 1 < size and priority[child + 1] > priority[child]:
            child += 1
        if priority[child] <= p:
            break
        priority[k], item[k] = priority[child], item[child]
        where[item[k]] = k
        k = child
    priority[k], item[k] = p, i
    where[i] = k


@numba.njit(cache=True)
def indexed_set(priority, item, where, size, i, p):
    """Insert item ``i`` with priority ``p``, or change its priority if present; returns the new
    size."""
    k = where[i]
    if k < 0:
        priority[size], item[size] = p, i
        _sift_up(priority, item, where, size)
        return size + 1
    old = priority[k]
    priority[k] = p
    if p > old:
        _sift_up(priority, item, where, k)
    else:
        _sift_down(priority, item, where, size, k)
    return size


@numba.njit(cache=True)
def indexed_remove(priority, item, where, size, i):
    """Remove item ``i`` if present (the top item: ``item[0]``); returns the new size."""
    k = where[i]
    if k < 0:
        return size
    where[i] = -1
    size -= 1
    if k == size:
        return size
    old = priority[k]
    priority[k], item[k] = priority[size], item[size]
    where[item[k]] = k
    if priority[k] > old:
        _sift_up(priority, item, where, k)
    else:
        _sift_down(priority, item, where, size, k)
    return size
