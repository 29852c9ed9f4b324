"""Blockwise segmentation on Dask: an image of any size → labels written chunk by chunk.

>>> from microseg.scale import segment_blockwise
>>> result = segment_blockwise(image, "default", scheduler="local", workers=2)  # doctest: +SKIP
>>> result.labels, result.count                                                 # doctest: +SKIP

Three passes over the image, none holding more than a few blocks in memory:

1. **Levels** (:mod:`.levels`): the normalisation's percentiles of the whole image.
2. **Blocks**: the image is cut into cores (:class:`~.blocks.BlockGrid`, the dask chunks), each
   grown by a halo (:func:`dask.array.overlap.overlap`); every extended block goes through the
   whole cells pipeline (network, maps → instances: :func:`~microseg.pipelines.cells.
   maps_to_labels`); the cores of its labels are written to the output Zarr array (block ids),
   and the slabs around its faces are matched with those of its neighbours
   (:mod:`.stitch`).
3. **Relabel**: the matches give every block a lookup table to global, consecutive ids
   (:func:`~.stitch.resolve`), applied chunk by chunk in place; then, optionally, measurements
   (:mod:`.measure`).

The halo (:func:`default_halo`) is the network's receptive radius (measured,
:func:`~microseg.infer.receptive.receptive_radius`) plus the largest object the model was
trained on × :data:`OBJECT_MARGIN`, so every block sees objects cut by its faces whole, with the
context the network would see in the whole image; blocks and halos are multiples of the model's
down-sampling factor, so at the model's scale a core's maps are those of the whole image. The
result depends neither on the scheduler nor on the number of workers.

The scale is fixed for the whole image: a ``diameter`` or ``pixel_size``, else the model's
(``diameter="auto"`` and the adaptive first pass of :func:`~microseg.pipelines.cells.segment`
need the whole image). Post-processing that looks at a whole image (``split_above`` compares
objects with the image's median) sees a block instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from microseg.config import check_choice
from microseg.errors import ConfigError, InputError
from microseg.pipelines.cells import FIXED, INSTANCES_3D, is_em_pipeline, maps_to_labels
from microseg.scale.blocks import BlockGrid, Index, per_axis
from microseg.scale.cluster import Runner, dask_runner
from microseg.scale.stitch import core_first, face_slabs, match_face, resolve
from microseg.scale.workers import ModelSource, torch_threads_kept, worker_predictor

if TYPE_CHECKING:
    import dask.array as da

    from microseg.infer.predictor import Predictor
    from microseg.preprocess.normalize import Levels

#: The halo holds the largest trained object diameter (``object_diameter_range``, else 3× the
#: ``object_diameter``, else :data:`UNKNOWN_OBJECT` network pixels) times this margin.
OBJECT_MARGIN = 1.25
UNKNOWN_OBJECT = 64.0
#: Halo along z of a stack segmented slice by slice and stitched by IoU: the slab of a z face
#: then holds the slices on both sides of it and the link between them, which both blocks see
#: alike (same slices, same lateral extent), all the stitching needs.
SLICE_HALO = 1
#: Depth of the cores along z of such a stack. The network runs on ``batch_size`` slices at
#: once, so the lateral extent of such blocks is one tile over the square root of the batch
#: (its activations those of one tile, as for a 2D block).
SLICE_BLOCK = 8
LABEL_DTYPE = np.uint32


@dataclass(frozen=True)
class BlockSettings:
    """What every block is segmented with (see :func:`~microseg.pipelines.cells.segment`)."""

    mode: str
    channel_axis: int | None = None
    diameter: float | None = None
    pixel_size: float | None = None
    z_context: str | None = None
    tta: str | None = None
    tile: int | tuple[int, ...] | None = None
    post: str | None = None
    post_params: dict[str, Any] | None = None
    spacing: tuple[float, ...] | None = None
    instances3d: str = "stitch"
    threads: int | None = 1


@dataclass
class BlockwiseResult:
    """What :func:`segment_blockwise` made: ``labels`` (the Zarr array written, ``(Y, X)`` or
    ``(Z, Y, X)`` uint32), ``count`` objects, the ``grid`` of blocks, the measurement ``table``
    (None unless asked for), objects that reached the edge of a halo (``cut_by_halo``: larger
    than the halo allows; measured partially: ``partial``), matches across faces ``refused``
    (:func:`~.stitch.resolve`; both signs of a halo too small), the ``levels`` of the
    normalisation and the ``seconds`` of each pass."""

    labels: Any
    count: int
    grid: BlockGrid
    table: dict[str, np.ndarray] | None = None
    cut_by_halo: int = 0
    partial: int = 0
    refused: int = 0
    levels: "Levels | None" = None
    seconds: dict[str, float] = field(default_factory=dict)


def segment_blockwise(image: Any, model: Any = "default", *, out: Any = None,
                      channel_axis: int | None = None, block: int | Sequence[int] | None = None,
                      halo: int | Sequence[int] | None = None,
                      diameter: float | str | None = None, pixel_size: float | None = None,
                      tta: str | None = None, tile: int | tuple[int, ...] | None = None,
                      post: str | None = None, post_params: dict[str, Any] | None = None,
                      z_context: str | None = None, instances3d: str = "stitch",
                      spacing: Sequence[float] | None = None,
                      intensity_range: tuple[float, float] | None = None,
                      pipeline: str = "cells", edge_classifier: Any = None,
                      scheduler: str = "threads", workers: int | None = None,
                      measurements: bool = False, progress: bool = True,
                      **predictor_options: Any) -> BlockwiseResult:
    """Segment ``image`` block by block on Dask → :class:`BlockwiseResult` (see the module
    docstring).

    Args:
        image: numpy or dask array (a lazily read OME-Zarr / TIFF), laid out as for
            :func:`~microseg.pipelines.cells.segment`: ``(Y, X)``, ``(Y, X, RGB)``,
            ``(Z, Y, X)`` or channels along ``channel_axis``.
        model: bundled name or checkpoint path, or its :class:`~.workers.ModelSource` (each
            worker loads it once), or a Predictor / module (sent to every worker once).
        out: Zarr array ``(*spatial)`` of an unsigned integer type to write the labels to,
            chunked so that every block holds whole chunks (:func:`labels_array` makes one),
            or a path for a new one; default: a new in-memory one (threads only).
        block: core size in pixels along Y and X (the default's along z), or per axis
            (default :func:`default_block`).
        halo: halo in pixels along Y and X (the default's along z), or per axis (default
            :func:`default_halo`).
        diameter, pixel_size, tta, tile, post, post_params, z_context, instances3d, spacing,
            intensity_range: as for :func:`~microseg.pipelines.cells.segment`; ``diameter``
            must be a number, ``"model"`` or None (the model's scale).
        scheduler: ``threads``, ``processes``, ``local`` or a cluster address
            (:mod:`.cluster`); ``workers``: how many (one torch thread each).
        measurements: also measure every object (:mod:`.measure`), with the image's
            intensities and ``spacing``.
        predictor_options: of :func:`~microseg.pipelines.model.load_model` for a model given by
            name or path (``backend``, ``precision``, …).
    """
    import time

    import dask.array as da

    if is_em_pipeline(pipeline, edge_classifier):
        raise ConfigError(f"blockwise segmentation runs the cells pipeline; {pipeline} needs "
                          f"the whole image")
    check_choice("instances3d", instances3d, INSTANCES_3D)
    if isinstance(diameter, str) and diameter != FIXED:
        raise ConfigError(f"blockwise segmentation needs one scale for the whole image: give "
                          f"the objects' diameter in pixels, a pixel size, or 'model', not "
                          f"{diameter!r}")
    diameter = None if diameter == FIXED else diameter
    predictor, source = _model(model, predictor_options)
    image = image if isinstance(image, da.Array) else da.from_array(np.asarray(image))
    probe = layout_probe(image)
    mode = predictor.mode(probe, channel_axis)
    axes = spatial_axes(probe, channel_axis)
    shape = tuple(image.shape[a] for a in axes)
    factor = predictor.scale_factor(diameter, pixel_size)
    halos = _sizes(halo, "halo", len(axes),
                   lambda: default_halo(predictor, factor, mode, instances3d))
    blocks = _sizes(block, "block", len(axes),
                    lambda: default_block(predictor, factor, mode, halos, tile))
    grid = BlockGrid.make(shape, blocks, halos)
    chunks = [(n,) for n in image.shape]
    for a, c in zip(axes, grid.chunks):
        chunks[a] = c
    image = image.rechunk(tuple(chunks))
    out = _output(out, grid, scheduler)
    settings = BlockSettings(mode, channel_axis, diameter, pixel_size, z_context, tta, tile,
                             post, post_params, None if spacing is None else tuple(spacing),
                             instances3d)
    seconds: dict[str, float] = {}
    with dask_runner(scheduler, workers, progress) as runner, torch_threads_kept():
        from microseg.scale.levels import image_levels

        start = time.perf_counter()
        levels = image_levels(image, predictor, axes, channel_axis, mode, intensity_range)
        seconds["levels"] = time.perf_counter() - start
        shipped = source if source is not None else runner.ship(predictor)
        lookups, cut, refused = _segment_blocks(image, axes, grid, out, shipped, levels,
                                                settings, runner)
        seconds["blocks"] = time.perf_counter() - start - seconds["levels"]
        count = int(max((int(t.max(initial=0)) for t in lookups.values()), default=0))
        _relabel(out, grid, lookups, runner)
        seconds["relabel"] = time.perf_counter() - start - sum(seconds.values())
        result = BlockwiseResult(out, count, grid, cut_by_halo=cut, refused=refused,
                                 levels=levels, seconds=seconds)
        if measurements:
            from microseg.scale.measure import measure_blockwise

            labels = da.from_zarr(out, chunks=grid.chunks)
            result.table, result.partial = measure_blockwise(
                labels, measured_channels(image, axes, channel_axis), grid, runner, spacing)
            seconds["measure"] = time.perf_counter() - start - sum(seconds.values())
    return result


def _sizes(value: int | Sequence[int] | None, name: str, ndim: int,
           default: Callable[[], tuple[int, ...]]) -> tuple[int, ...]:
    """Sizes per spatial axis: ``value`` per axis, one ``value`` for Y and X and the
    ``default`` for z, or the ``default``."""
    if value is None:
        return default()
    if isinstance(value, (int, np.integer)):
        return (*default()[:-2], int(value), int(value)) if ndim > 2 else (int(value),) * 2
    return per_axis(value, ndim, name)


@dataclass(frozen=True)
class BlockwiseOptions:
    """How the files of ``microseg segment --blockwise`` are processed (see
    :func:`segment_blockwise`): core ``block`` and ``halo`` sizes (None: the defaults) and the
    Dask ``scheduler`` with its number of ``workers``."""

    block: int | tuple[int, ...] | None = None
    halo: int | tuple[int, ...] | None = None
    scheduler: str = "threads"
    workers: int | None = None


def layout_probe(image: Any, dtype: Any = None) -> np.ndarray:
    """An array of ``image``'s shape and type (or of shape ``image`` and type ``dtype``) that
    holds no memory: what layout rules (:func:`~microseg.infer.inputs.spatial_ndim`) and
    memory estimates look at, without reading a lazy image."""
    if dtype is None:
        shape, dtype = image.shape, image.dtype
    else:
        shape = image
    return np.broadcast_to(np.zeros((), dtype), tuple(shape))


def fitting_block(probe: np.ndarray, predictor: "Predictor", channel_axis: int | None,
                  diameter: float | str | None, pixel_size: float | None, instances3d: str,
                  fits: Callable[[tuple[int, ...]], bool]) -> tuple[int, ...] | None:
    """The largest core sizes, from :func:`default_block` down by halves along Y and X to twice
    the halo, whose extended block (an array of ``probe``'s layout) ``fits`` memory; None when
    none does."""
    mode = predictor.mode(probe, channel_axis)
    axes = spatial_axes(probe, channel_axis)
    factor = predictor.scale_factor(None if diameter == FIXED else diameter, pixel_size)
    halo = default_halo(predictor, factor, mode, instances3d)
    block = list(default_block(predictor, factor, mode, halo, None))
    while True:
        shape = list(probe.shape)
        for axis, b, h in zip(axes, block, halo):
            shape[axis] = min(shape[axis], b + 2 * h)
        if fits(tuple(shape)):
            return tuple(block)
        if all(b <= 2 * h for b, h in zip(block[-2:], halo[-2:])):
            return None
        block[-2:] = [max(2 * h, b // 2 // predictor.divisor * predictor.divisor)
                      for b, h in zip(block[-2:], halo[-2:])]


def _model(model: Any, options: dict[str, Any]) -> tuple["Predictor", ModelSource | None]:
    """The predictor on this process, and the source workers load it from (None: ship the
    predictor itself)."""
    from microseg.pipelines.model import load_model

    if isinstance(model, (str, Path, ModelSource)):
        source = model if isinstance(model, ModelSource) \
            else ModelSource(str(model), tuple(sorted(options.items())))
        return worker_predictor(source, threads=None), source
    return load_model(model, **options), None


def spatial_axes(image: np.ndarray, channel_axis: int | None) -> tuple[int, ...]:
    """The spatial axes of an image as read (see :func:`~microseg.infer.inputs.spatial_ndim`)."""
    from microseg.infer.inputs import spatial_ndim

    ndim = spatial_ndim(image, channel_axis)
    if channel_axis is not None:
        return tuple(a for a in range(image.ndim) if a != channel_axis % image.ndim)
    return tuple(range(ndim))


def default_halo(predictor: "Predictor", factor: float, mode: str,
                 instances3d: str = "stitch") -> tuple[int, ...]:
    """Halo per spatial axis (image pixels): the network's receptive radius plus the largest
    trained object × :data:`OBJECT_MARGIN`, at the image's scale (``factor``: image → network),
    rounded up to the model's down-sampling factor; :data:`SLICE_HALO` along z of a stack
    segmented slice by slice and stitched."""
    from microseg.infer.receptive import receptive_radius

    meta = predictor.meta
    if meta.object_diameter_range:
        largest = float(meta.object_diameter_range[1])
    else:
        largest = 3.0 * meta.object_diameter if meta.object_diameter else UNKNOWN_OBJECT
    radius = receptive_radius(predictor)
    reach = [math.ceil((r + largest * OBJECT_MARGIN) / factor) for r in radius]
    halo = [_round_up(h, predictor.divisor) for h in reach]
    if mode == "slices":
        return (SLICE_HALO if instances3d == "stitch" else halo[0], *halo)
    return tuple(halo)


def default_block(predictor: "Predictor", factor: float, mode: str,
                  halo: Sequence[int], tile: int | tuple[int, ...] | None) -> tuple[int, ...]:
    """Core per spatial axis (image pixels): one network tile (at the image's scale) less the
    halos, a multiple of the model's down-sampling factor and at least twice the halo;
    :data:`SLICE_BLOCK` slices along z of a stack segmented slice by slice (and a tile over
    the square root of the predictor's batch laterally)."""
    size = predictor.tile_size(tile)
    if mode == "slices":
        size = tuple(t / math.sqrt(predictor.batch_size) for t in size)
    lateral = halo[-len(size):]
    cores = [max(2 * h, (int(t / factor) - 2 * h) // predictor.divisor * predictor.divisor)
             for t, h in zip(size, lateral)]
    return (SLICE_BLOCK, *cores) if mode == "slices" else tuple(cores)


def labels_array(grid: BlockGrid, store: Any = None, dtype: Any = LABEL_DTYPE) -> Any:
    """A new Zarr array for the labels of ``grid``'s image, one chunk per block core (the
    regular ones), written to ``store`` (a path or Zarr store; default in memory)."""
    import zarr

    chunks = tuple(c[0] for c in grid.chunks)
    return zarr.create_array(store if store is not None else zarr.storage.MemoryStore(),
                             shape=grid.shape, chunks=chunks, dtype=dtype, fill_value=0,
                             overwrite=True)


def _output(out: Any, grid: BlockGrid, scheduler: str) -> Any:
    """The Zarr array the labels go to: ``out`` checked, a new one at ``out`` when it is a
    path, or in memory (threads only: other processes cannot write there)."""
    import zarr

    if isinstance(out, (str, Path)):
        return labels_array(grid, str(out))
    if out is None or isinstance(out.store, zarr.storage.MemoryStore):
        if scheduler != "threads":
            raise ConfigError(f"scheduler {scheduler!r} writes labels from other processes: "
                              f"give out=, a path or a Zarr array on disk")
        return labels_array(grid) if out is None else check_labels_array(out, grid)
    return check_labels_array(out, grid)


def check_labels_array(out: Any, grid: BlockGrid) -> Any:
    """``out`` when it can take the labels of ``grid``: the image's shape, an unsigned integer
    type, chunks that tile every block (so blocks are written in parallel without locks)."""
    if tuple(out.shape) != grid.shape or np.dtype(out.dtype).kind != "u":
        raise InputError(None, f"the labels array must be unsigned integers of shape "
                               f"{grid.shape}, got {np.dtype(out.dtype)} {tuple(out.shape)}")
    for sizes, chunk in zip(grid.chunks, out.chunks):
        if any(s % chunk for s in sizes[:-1]):
            raise ConfigError(f"the labels array's chunks {tuple(out.chunks)} do not tile the "
                              f"blocks {tuple(c[0] for c in grid.chunks)}; give a block that is "
                              f"a multiple of them")
    return out


def measured_channels(image: "da.Array", axes: tuple[int, ...],
                      channel_axis: int | None) -> "da.Array":
    """The intensities measured per object: ``image`` as ``(C, *spatial)`` (RGB without
    alpha), as :func:`microseg.pipelines.files.segment_file` measures them."""
    import dask.array as da

    if channel_axis is not None:
        return da.moveaxis(image, channel_axis, 0)
    if image.ndim > len(axes):
        return da.moveaxis(image[..., :3], -1, 0)
    return image[None]


def _segment_blocks(image: "da.Array", axes: tuple[int, ...], grid: BlockGrid, out: Any,
                    model: Any, levels: "Levels | None", settings: BlockSettings,
                    runner: Runner) -> tuple[dict[Index, np.ndarray], int, int]:
    """Pass 2: every block segmented, its core written to ``out`` (block ids), its faces
    matched → (lookup tables of :func:`~.stitch.resolve`, objects cut by a halo's edge, joins
    refused)."""
    import dask
    import dask.array as da

    depth = {a: h for a, h in zip(axes, grid.halo)}
    depth.update({a: 0 for a in range(image.ndim) if a not in axes})
    extended = da.overlap.overlap(image, depth, boundary="none")
    dropped = tuple(a for a in range(image.ndim) if a not in axes)
    labels = extended.map_blocks(
        _segment_block, model, levels, settings, grid, dtype=LABEL_DTYPE, drop_axis=dropped,
        chunks=tuple(extended.chunks[a] for a in axes))
    core = da.overlap.trim_internal(labels, dict(enumerate(grid.halo)), boundary="none")
    store = da.store(core, out, lock=False, compute=False)
    blocks = labels.to_delayed()
    summaries = {index: dask.delayed(_summary)(blocks[index], grid, index)
                 for index in grid.indices()}
    slabs = {index: dask.delayed(face_slabs)(blocks[index], grid, index)
             for index in grid.indices()}
    faces = list(grid.faces())
    pairs = [dask.delayed(match_face)(slabs[lower][axis, +1], slabs[upper][axis, -1])
             for lower, upper, axis in faces]
    order = list(summaries)
    _, counted, matched = runner.compute(store, [summaries[i] for i in order], pairs)
    n_core = {index: n for index, (n, _) in zip(order, counted)}
    matches = [(lower, upper, *m) for (lower, upper, _), m in zip(faces, matched)]
    lookups, refused = resolve(n_core, grid, matches)
    return lookups, sum(cut for _, cut in counted), refused


def _segment_block(block: np.ndarray, model: Any, levels: "Levels | None",
                   settings: BlockSettings, grid: BlockGrid,
                   block_id: Index | None = None) -> np.ndarray:
    """Labels of one extended block (as :func:`~.stitch.core_first` numbers them)."""
    predictor = worker_predictor(model, settings.threads)
    prediction = predictor.prediction(
        block, diameter=settings.diameter, pixel_size=settings.pixel_size,
        channel_axis=settings.channel_axis, z_context=settings.z_context, tta=settings.tta,
        tile=settings.tile, levels=levels)
    labels = maps_to_labels(prediction.maps, predictor, post=settings.post,
                            post_params=settings.post_params, spacing=settings.spacing,
                            slicewise=settings.mode == "slices",
                            instances3d=settings.instances3d,
                            bright_background=prediction.bright_background)
    return core_first(labels, grid.core_in_extended(block_id))[0]


def _summary(labels: np.ndarray, grid: BlockGrid, index: Index) -> tuple[int, int]:
    """``(core objects, core objects touching the edge of the halo)`` of an extended block's
    labels (:func:`~.stitch.core_first`); a core object there is larger than the halo."""
    n_core = int(labels[grid.core_in_extended(index)].max(initial=0))
    edge: set[int] = set()
    for axis in range(labels.ndim):
        for side, layer in ((-1, 0), (+1, labels.shape[axis] - 1)):
            if grid.has_neighbour(index, axis, side):
                ids = np.unique(np.take(labels, layer, axis=axis))
                edge.update(int(i) for i in ids if 0 < i <= n_core)
    return n_core, len(edge)


def _relabel(out: Any, grid: BlockGrid, lookups: dict[Index, np.ndarray],
             runner: Runner) -> None:
    """Pass 3: the block ids in ``out`` replaced by global ids, chunk by chunk, in place."""
    import dask.array as da

    tables = runner.ship(lookups)
    labels = da.from_zarr(out, chunks=grid.chunks)
    final = labels.map_blocks(_lookup, tables, dtype=out.dtype)
    runner.compute(da.store(final, out, lock=False, compute=False))


def _lookup(block: np.ndarray, tables: dict[Index, np.ndarray],
            block_id: Index | None = None) -> np.ndarray:
    return tables[block_id].astype(block.dtype)[block]


def _round_up(value: int, multiple: int) -> int:
    return -(-int(value) // multiple) * multiple
