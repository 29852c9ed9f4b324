"""Measurements of a label image too large to hold, block by block
(:func:`~microseg.measure.measure` on each block with its halo), merged into one table.

Each object is measured once, whole, by the block whose core holds the first corner of its
bounding box, from the block's extended region (core and halo): the halo is wider than the
objects, so the object lies inside it. An object that reaches the edge of the halo (larger than
the halo allows) is measured on its part inside and counted in ``partial``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from microseg.measure import measure
from microseg.measure.table import AXES
from microseg.scale.blocks import BlockGrid, Index

if TYPE_CHECKING:
    import dask.array as da

    from microseg.scale.cluster import Runner

Table = dict[str, np.ndarray]


def measure_blockwise(labels: "da.Array", channels: "da.Array | None", grid: BlockGrid,
                      runner: "Runner", spacing: Sequence[float] | None = None
                      ) -> tuple[Table, int]:
    """The measurement table of ``labels`` (spatial, chunked as ``grid``) with intensities of
    ``channels`` ``(C, *spatial)`` (or None) → ``(table with rows in label order, number of
    objects measured partially)``; columns as :func:`~microseg.measure.measure`'s."""
    import dask
    import dask.array as da

    depth = dict(enumerate(grid.halo))
    extended = da.overlap.overlap(labels, depth, boundary="none").to_delayed()
    if channels is not None:
        shifted = {axis + 1: h for axis, h in depth.items()}
        channel_blocks = da.overlap.overlap(channels, {0: 0, **shifted},
                                            boundary="none").to_delayed()[0]
    tasks = [dask.delayed(_measure_block)(extended[index],
                                          None if channels is None else channel_blocks[index],
                                          grid, index, spacing)
             for index in grid.indices()]
    parts = runner.compute(*tasks)
    tables = [table for table, _ in parts]
    merged = {name: np.concatenate([t[name] for t in tables]) for name in tables[0]}
    order = np.argsort(merged["label"], kind="stable")
    return {name: values[order] for name, values in merged.items()}, sum(n for _, n in parts)


def _measure_block(labels: np.ndarray, channels: np.ndarray | None, grid: BlockGrid,
                   index: Index, spacing: Sequence[float] | None) -> tuple[Table, int]:
    """The rows of the objects block ``index`` owns, in image coordinates, and how many of
    them reach the edge of its halo."""
    table = measure(labels, channels, spacing)
    origin = grid.extended_start(index)
    core = grid.core_start(index)
    owned = np.ones(len(table["label"]), bool)
    partial = np.zeros_like(owned)
    for axis, letter in enumerate(AXES[labels.ndim]):
        for name in ("centroid", "bbox_min", "bbox_max"):
            table[f"{name}_{letter}"] = table[f"{name}_{letter}"] + origin[axis]
        if spacing is not None:
            table[f"centroid_{letter}_um"] = table[f"centroid_{letter}"] * spacing[axis]
        start = table[f"bbox_min_{letter}"]
        owned &= (start >= core[axis]) & (start < core[axis] + grid.chunks[axis][index[axis]])
        if grid.has_neighbour(index, axis, -1):
            partial |= start == origin[axis]
        if grid.has_neighbour(index, axis, +1):
            partial |= table[f"bbox_max_{letter}"] == origin[axis] + labels.shape[axis]
    return {name: values[owned] for name, values in table.items()}, int((owned & partial).sum())
