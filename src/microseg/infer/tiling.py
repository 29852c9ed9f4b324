"""Sliding-window prediction with overlap and smooth blending, for images of any size.

A network is a callable ``predict(batch) -> maps`` on ``(N, C, *tile)`` float32 arrays/tensors that
returns ``(N, K, *tile)``. Tiles start on multiples of ``align`` (the network's total down-sampling
factor) so every tile sees the same pooling grid as the whole image; each tile's contribution is
weighted by a window that is 1 in its centre and falls smoothly to almost 0 towards the tile edges
that lie inside the image: seams blend smoothly and pixels near a tile edge (which lack context)
do not count.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

PredictFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Tile:
    """One window: ``start``/``stop`` per spatial axis (in image coordinates)."""

    start: tuple[int, ...]
    stop: tuple[int, ...]

    @property
    def slices(self) -> tuple[slice, ...]:
        return tuple(slice(a, b) for a, b in zip(self.start, self.stop))


def _axis_starts(length: int, tile: int, overlap: int, align: int) -> list[int]:
    """Tile starts along one axis: aligned, covering ``[0, length)``, stepping ``tile − overlap``."""
    if length <= tile:
        return [0]
    step = max(align, ((tile - overlap) // align) * align)
    last = ((length - tile + align - 1) // align) * align
    starts = list(range(0, last, step)) + [last]
    return sorted(set(starts))


def balanced_tile(length: int, tile: int, overlap: int, align: int) -> int:
    """The smallest aligned window size ≤ ``tile`` that covers ``length`` with as few windows as
    ``tile`` needs, sharing ``overlap`` pixels: on 2048 pixels, windows of 512 sharing 64 need 5
    (1.56× the pixels) where 5 windows of 464 do (1.13×). Short axes get one window of
    ``length`` rounded up to ``align``."""
    whole = _round_up(length, align)
    if whole <= tile:
        return whole
    step = max(align, tile - overlap)
    count = -(-(length - overlap) // step)
    return min(tile, max(align, _round_up(-(-(length + (count - 1) * overlap) // count), align)))


def tiles(shape: tuple[int, ...], tile: int | tuple[int, ...], overlap: int | tuple[int, ...],
          align: int = 1) -> list[Tile]:
    """Windows of size ``tile`` covering a spatial ``shape``; a window may extend past the image end
    (the caller pads), never past its start."""
    ndim = len(shape)
    tile_size = (tile,) * ndim if isinstance(tile, int) else tuple(tile)
    overlaps = (overlap,) * ndim if isinstance(overlap, int) else tuple(overlap)
    per_axis = [_axis_starts(n, t, o, align) for n, t, o in zip(shape, tile_size, overlaps)]
    return [Tile(tuple(s), tuple(a + t for a, t in zip(s, tile_size)))
            for s in itertools.product(*per_axis)]


def edge_profile(width: int, floor: float = 1e-6) -> np.ndarray:
    """Weights for the ``width`` pixels next to an open tile edge (edge pixel first): ``floor`` for
    the outer quarter, whose pixels lack context, then a smooth sin² rise to 1."""
    position = np.arange(width, dtype=np.float32)
    dead = width / 4.0
    rise = np.clip((position - dead) / max(width - dead, 1.0), 0.0, 1.0)
    return np.maximum(np.sin(rise * np.pi / 2) ** 2, floor).astype(np.float32)


def blend_window(tile_shape: tuple[int, ...], ramp: tuple[int, ...],
                 open_low: tuple[bool, ...], open_high: tuple[bool, ...]) -> np.ndarray:
    """Separable weight window of ``tile_shape``: 1 inside, :func:`edge_profile` over ``ramp[i]``
    pixels towards each edge flagged open (an edge that lies inside the image)."""
    window = np.ones(tile_shape, dtype=np.float32)
    for axis, (n, r) in enumerate(zip(tile_shape, ramp)):
        profile = np.ones(n, dtype=np.float32)
        width = min(r, n)
        if width > 0:
            rising = edge_profile(width)
            if open_low[axis]:
                profile[:width] = np.minimum(profile[:width], rising)
            if open_high[axis]:
                profile[n - width:] = np.minimum(profile[n - width:], rising[::-1])
        shape = [1] * len(tile_shape)
        shape[axis] = n
        window = window * profile.reshape(shape)
    return window


def _batches(items: list[Tile], size: int) -> Iterator[list[Tile]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def predict_tiled(image: np.ndarray, predict: PredictFn, tile: int | tuple[int, ...] = 512,
                  overlap: int | tuple[int, ...] = 64, align: int = 16, batch_size: int = 1,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Predict maps for ``image`` ``(C, *spatial)`` tile by tile.

    Args:
        image: float32 ``(C, Y, X)`` or ``(C, Z, Y, X)``.
        predict: the network, ``(N, C, *tile) → (N, K, *tile)``.
        tile: largest window size (pixels) per spatial axis; windows shrink to cover the image
            with as little overlap as that many windows allow (:func:`balanced_tile`).
        overlap: pixels shared by neighbouring windows; also the width of the blending ramp.
        align: windows start on multiples of this (the network's down-sampling factor).
        batch_size: windows per call of ``predict``.
        progress: called with the number of windows done after each batch.
    Returns:
        ``(K, *spatial)`` float32 maps.
    """
    spatial = image.shape[1:]
    ndim = len(spatial)
    tile_size = (tile,) * ndim if isinstance(tile, int) else tuple(tile)
    overlaps = (overlap,) * ndim if isinstance(overlap, int) else tuple(overlap)
    tile_size = tuple(balanced_tile(n, t, o, align)
                      for n, t, o in zip(spatial, tile_size, overlaps))
    windows = tiles(spatial, tile_size, overlaps, align)
    padded_shape = tuple(max(w.stop[i] for w in windows) for i in range(ndim))
    pad = [(0, 0)] + [(0, p - n) for p, n in zip(padded_shape, spatial)]
    padded = np.pad(image, pad, mode="reflect" if _can_reflect(spatial, pad) else "edge")
    crop = (slice(None),) + tuple(slice(0, n) for n in spatial)
    if len(windows) == 1:   # one window has no open edge: its maps are the result, unblended
        maps = np.asarray(predict(np.ascontiguousarray(padded[None])), dtype=np.float32)[0]
        if progress is not None:
            progress(1)
        return maps[crop]
    output: np.ndarray | None = None
    weights = np.zeros(padded_shape, dtype=np.float32)
    done = 0
    for batch in _batches(windows, batch_size):
        inputs = np.stack([padded[(slice(None),) + w.slices] for w in batch])
        maps = np.asarray(predict(np.ascontiguousarray(inputs)), dtype=np.float32)
        if output is None:
            output = np.zeros((maps.shape[1],) + padded_shape, dtype=np.float32)
        for w, m in zip(batch, maps):
            window = blend_window(
                tile_size, overlaps,
                open_low=tuple(s > 0 for s in w.start),
                open_high=tuple(e < n for e, n in zip(w.stop, spatial)),
            )
            output[(slice(None),) + w.slices] += m * window
            weights[w.slices] += window
        done += len(batch)
        if progress is not None:
            progress(done)
    assert output is not None
    output /= weights
    return output[crop]


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _can_reflect(spatial: tuple[int, ...], pad: list[tuple[int, int]]) -> bool:
    return all(after < n for n, (_, after) in zip(spatial, pad[1:]))
