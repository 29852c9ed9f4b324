"""The block grid of blockwise processing: cores that tile the image, and halos around them.

>>> grid = BlockGrid.make((100, 70), block=32, halo=8)
>>> grid.chunks                         # the last core of an axis absorbs a rest below the halo
((32, 32, 36), (32, 38))
>>> grid.core_in_extended((1, 0))       # the core inside block (1, 0) with its halo
(slice(8, 40, None), slice(0, 32, None))

A block's *extended* region is its core grown by the halo on every side that has a neighbour
(nothing is added at the image border), exactly as :func:`dask.array.overlap.overlap` grows a
chunk with ``boundary="none"``; so the grid's :attr:`~BlockGrid.chunks` are the image's dask
chunks (spatial axes) and :attr:`~BlockGrid.halo` the overlap depth.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator, Sequence

from microseg.errors import ConfigError

Index = tuple[int, ...]


def per_axis(value: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    """``value`` for each of ``ndim`` axes (one number for all, or one per axis)."""
    values = (int(value),) * ndim if isinstance(value, (int, float)) else tuple(
        int(v) for v in value)
    if len(values) != ndim:
        raise ConfigError(f"{name} must be one number or {ndim} (one per axis), got {value!r}")
    return values


@dataclass(frozen=True)
class BlockGrid:
    """Cores (``chunks``: sizes per axis, as dask chunks) and ``halo`` (pixels per axis) of a
    spatial ``shape``."""

    shape: tuple[int, ...]
    chunks: tuple[tuple[int, ...], ...]
    halo: tuple[int, ...]

    @classmethod
    def make(cls, shape: Sequence[int], block: int | Sequence[int],
             halo: int | Sequence[int]) -> BlockGrid:
        """Cores of ``block`` pixels per axis (the last one of an axis absorbs a rest smaller
        than the halo, so every core is at least the halo deep); an axis held by one core needs
        no halo. ConfigError for a block smaller than its halo or not positive."""
        shape = tuple(int(n) for n in shape)
        blocks = per_axis(block, len(shape), "block")
        halos = per_axis(halo, len(shape), "halo")
        if min(blocks) < 1 or min(halos) < 0:
            raise ConfigError(f"block sizes must be positive and halos not negative, got block "
                              f"{blocks}, halo {halos}")
        chunks, depth = [], []
        for n, b, h in zip(shape, blocks, halos):
            if b < h and b < n:
                raise ConfigError(f"a block ({b} px) must be at least as large as its halo "
                                  f"({h} px); give a larger block or a smaller halo")
            sizes = [b] * (n // b) + ([n % b] if n % b else [])
            if len(sizes) > 1 and sizes[-1] < h:
                sizes[-2:] = [sizes[-2] + sizes[-1]]
            chunks.append(tuple(sizes))
            depth.append(h if len(sizes) > 1 else 0)
        return cls(shape, tuple(chunks), tuple(depth))

    @property
    def counts(self) -> tuple[int, ...]:
        """Number of blocks per axis."""
        return tuple(len(c) for c in self.chunks)

    def indices(self) -> Iterator[Index]:
        """Every block index, in C order (the order of :meth:`linear`)."""
        return itertools.product(*(range(n) for n in self.counts))

    def linear(self, index: Index) -> int:
        """The position of block ``index`` in C order."""
        position = 0
        for i, n in zip(index, self.counts):
            position = position * n + i
        return position

    def core_start(self, index: Index) -> tuple[int, ...]:
        """First pixel of the core of block ``index`` in the image."""
        return tuple(sum(c[:i]) for c, i in zip(self.chunks, index))

    def extended_start(self, index: Index) -> tuple[int, ...]:
        """First pixel of the extended region of block ``index`` in the image."""
        return tuple(s - (h if i > 0 else 0)
                     for s, h, i in zip(self.core_start(index), self.halo, index))

    def core_in_extended(self, index: Index) -> tuple[slice, ...]:
        """The core of block ``index`` inside its extended region."""
        return tuple(slice(h if i > 0 else 0, (h if i > 0 else 0) + c[i])
                     for c, h, i in zip(self.chunks, self.halo, index))

    def has_neighbour(self, index: Index, axis: int, side: int) -> bool:
        """Whether block ``index`` has a neighbour along ``axis`` on ``side`` (−1 low, +1
        high)."""
        j = index[axis] + side
        return 0 <= j < self.counts[axis]

    def faces(self) -> Iterator[tuple[Index, Index, int]]:
        """Every pair of blocks sharing a face: ``(lower, upper, axis)``, upper = lower + 1
        along ``axis``; in C order of ``lower``, then by axis."""
        for index in self.indices():
            for axis in range(len(self.shape)):
                if self.has_neighbour(index, axis, +1):
                    upper = index[:axis] + (index[axis] + 1,) + index[axis + 1:]
                    yield index, upper, axis
