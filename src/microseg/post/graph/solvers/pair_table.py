"""An open-addressing hash table for numba code mapping an unordered node pair to an edge id.

Keys are ``min(u, v) * n_nodes + max(u, v)`` (int64), values int64 edge ids, ``-1`` marks an empty
slot. Linear probing with Fibonacci hashing; deletion shifts the following entries back, so there
are no tombstones and lookups stay short however many edges are moved or merged.
"""
from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def new_table(n_entries: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Empty table ``(keys, values, bits)`` sized for ``n_entries`` at a load of at most 1/2."""
    bits = max(int(np.ceil(np.log2(max(2 * int(n_entries), 2)))), 4)
    size = 1 << bits
    return np.full(size, -1, np.int64), np.full(size, -1, np.int64), bits


@numba.njit(cache=True, inline="always")
def pair_key(u, v, n_nodes):
    """The key of the unordered pair ``{u, v}``."""
    if u < v:
        return u * n_nodes + v
    return v * n_nodes + u


@numba.njit(cache=True, inline="always")
def _home(key, bits):
    return np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(64 - bits))


@numba.njit(cache=True)
def table_find(keys, values, bits, key):
    """Value stored for ``key``, or -1."""
    mask = (1 << bits) - 1
    slot = _home(key, bits)
    while keys[slot] != -1:
        if keys[slot] == key:
            return values[slot]
        slot = (slot + 1) & mask
    return -1


@numba.njit(cache=True)
def table_insert(keys, values, bits, key, value):
    """Store ``value`` for ``key`` (overwrites an existing entry)."""
    mask = (1 << bits) - 1
    slot = _home(key, bits)
    while keys[slot] != -1 and keys[slot] != key:
        slot = (slot + 1) & mask
    keys[slot] = key
    values[slot] = value


@numba.njit(cache=True)
def table_remove(keys, values, bits, key):
    """Delete ``key`` if present (backward-shift deletion)."""
    mask = (1 << bits) - 1
    slot = _home(key, bits)
    while keys[slot] != key:
        if keys[slot] == -1:
            return
        slot = (slot + 1) & mask
    hole = slot
    keys[hole] = -1
    probe = hole
    while True:
        probe = (probe + 1) & mask
        if keys[probe] == -1:
            return
        home = _home(keys[probe], bits)
        # the entry at `probe` may fill the hole unless its home lies cyclically in (hole, probe]
        if hole <= probe:
            stays = hole < home <= probe
        else:
            stays = home > hole or home <= probe
        if not stays:
            keys[hole] = keys[probe]
            values[hole] = values[probe]
            keys[probe] = -1
            hole = probe
