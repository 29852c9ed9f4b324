"""Files in, files out: the batch behind ``microseg segment``.

>>> from microseg.pipelines.files import SegmentOptions, segment_paths
>>> run = segment_paths(["images/"], "out", "default", options=SegmentOptions())  # doctest: +SKIP

:func:`segment_paths` reads each input with its own axes, pixel size and channel names
(:func:`microseg.io.images.read_image`: the channels, frames and scene chosen in
:class:`SegmentOptions`), segments it (:func:`microseg.pipelines.cells.segment`) and writes,
named after the input's stem (``{stem}_tNNN`` for frame NNN of a time series), the outputs
chosen by :class:`Outputs` (default the first three): ``{stem}_labels.tif`` (uint16/uint32,
with the pixel size when ``spacing`` is known: the file's unless given), ``{stem}_overlay.png``,
``{stem}.csv`` (:func:`microseg.measure.measure`, µm columns with a pixel size),
``{stem}.geojson`` (QuPath, :mod:`microseg.io.geojson`), ``{stem}_rois.zip`` (Fiji,
:mod:`microseg.io.rois`) and ``{stem}.ome.zarr`` (the image with its labels in ``labels/``,
:mod:`microseg.io.ngff`; or, for an OME-Zarr input and ``zarr_into_input``, the labels written
into the input's own ``labels/``). They are one unit (:mod:`microseg.io.units`): claimed by one
process, written together and marked complete, so a rerun of a killed batch skips the complete
images, finishes the others and removes the partial files; an image that would need more memory
than there is (:func:`memory_estimate`) is refused and the batch goes on. Each run leaves a
record in ``OUT/.microseg/runs/`` (the command, model, settings and what became of every input,
:func:`write_run_record`), which ``microseg report`` shows.

Blockwise (``blockwise=`` :class:`~microseg.scale.segment.BlockwiseOptions`, ``--blockwise``), or
for an image that would need more memory than there is (:func:`memory_estimate`), the image is
read lazily and segmented block by block on Dask (:func:`microseg.scale.segment_blockwise`) into
``{stem}.ome.zarr`` (the image and its label image ``labels/cells``, OME-NGFF) and
``{stem}.csv``; an image whose blocks would not fit either is refused and the batch goes on.
"""
from __future__ import annotations

import functools
import glob
import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from microseg.config import check_choice
from microseg.errors import ConfigError, InputError, MicrosegError
from microseg.pipelines.cells import AUTO, FIXED, INSTANCES_3D, auto_diameter_reference, \
    auto_model, channels_first, image_channel_axis, is_em_pipeline, segment
from microseg.pipelines.model import AUTO_MODEL, NUCLEI_MODEL, bundled_edge_classifier, \
    load_model

if TYPE_CHECKING:
    import numpy as np

    from microseg.infer.predictor import Predictor
    from microseg.io.images import Image
    from microseg.io.select import Channels, Frames
    from microseg.io.units import OutputUnit
    from microseg.scale.segment import BlockwiseOptions

#: Output kind → file name (``--save`` chooses kinds); the defaults are written when none is given.
OUTPUTS = {"labels": "{stem}_labels.tif", "overlay": "{stem}_overlay.png", "csv": "{stem}.csv",
           "geojson": "{stem}.geojson", "rois": "{stem}_rois.zip", "zarr": "{stem}.ome.zarr"}
DEFAULT_SAVE = ("labels", "overlay", "csv")
#: Folder of the run records, inside the bookkeeping folder of an output folder.
RUNS_DIR = "runs"
#: The outputs of an image segmented block by block (kinds of :data:`OUTPUTS`).
BLOCKWISE_SAVE = ("zarr", "csv")
#: Peak memory of segmenting one image beyond the image itself (:func:`memory_estimate`): bytes
#: per pixel at the network's scale for the arrays of the whole image (normalised input, maps,
#: post-processing, measurements, overlay), bytes per pixel of a batch of tiles for the
#: network's activations, and bytes for the network's first run at a new size. Fitted above the
#: peak resident memory of ``microseg segment`` with the bundled default model on 2D images of
#: 1024² to 6144² pixels; ``tests/reliability/test_memory_refusal.py`` checks one.
IMAGE_BYTES_PER_PIXEL = 64
NETWORK_BYTES_PER_PIXEL = 70
NETWORK_BYTES = 128 * 2**20


@dataclass(frozen=True)
class InputItem:
    """One image to segment: its file, the output stem, the sequence it belongs to (a CTC
    sequence folder, or the time-series file itself) and its frame in that file."""

    path: Path
    stem: str
    sequence: Path | None = None
    frame: int | None = None


@dataclass
class SegmentRun:
    """What :func:`segment_paths` did: outputs written, objects found and seconds taken per
    input stem; inputs skipped (complete already, or being segmented by another process) and
    failures, each as (input, message starting with the input's path) in input order; and the
    inputs whose outputs are named after more than their file's stem (input → stem), because
    another input has the same stem; with ``--model auto``, the bundled model chosen per input
    stem."""

    written: dict[str, list[Path]] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def collect_inputs(inputs: Sequence[str | Path], options: "SegmentOptions | None" = None
                   ) -> tuple[list[InputItem], list[tuple[str, str]]]:
    """Expand files (and OME-Zarr folders), folders (their images), CTC sequence or dataset
    folders (their frames) and glob patterns into items → ``(items, failures)``; a file with a
    time axis gives one item per frame (``options.frames``, default all; :func:`_frames`).
    Folders and patterns leave out microseg's own outputs (:func:`_not_outputs`), so a folder
    can be its own output folder. A path given twice counts once; stems shared by several
    files are made unique (:func:`_unique`)."""
    items, failures = _expand(inputs)
    items, clashes = _unique(items)
    options = options or SegmentOptions()
    return [frame for item in items for frame in _frames(item, options)], failures + clashes


def _frames(item: InputItem, options: "SegmentOptions") -> list[InputItem]:
    """One item per chosen frame of a file with a time axis, named ``{stem}_tNNN``; the item
    itself for any other file, and for a file that cannot be read (its error is reported when
    it is segmented)."""
    import warnings

    from microseg.io.images import image_shape
    from microseg.io.select import frame_indices
    from microseg.io.stored import PIL_SUFFIXES

    if item.sequence is not None or item.path.suffix.lower() in (*PIL_SUFFIXES, ".npy"):
        return [item]
    try:
        with warnings.catch_warnings():            # reported when the frames are read
            warnings.simplefilter("ignore")
            axes, shape = image_shape(item.path, scene=options.scene,
                                      channel_axis=options.channel_axis)
        count = shape[axes.index("T")] if "T" in axes else 1
        if count == 1:
            return [item]
        frames = frame_indices(slice(None) if options.frames is None else options.frames,
                               count, item.path)
    except MicrosegError:
        return [item]
    width = max(3, len(str(count - 1)))
    return [replace(item, stem=f"{item.stem}_t{t:0{width}d}", sequence=item.path, frame=t)
            for t in (frames if isinstance(frames, list) else [frames])]


def _expand(inputs: Sequence[str | Path]) -> tuple[list[InputItem], list[tuple[str, str]]]:
    """The items of :func:`collect_inputs` as found, and the inputs that gave none."""
    from microseg.io.ctc import find_sequences
    from microseg.io.folders import list_images, natural_key
    from microseg.io.stored import IMAGE_SUFFIXES, MICROSCOPE_SUFFIXES

    items: list[InputItem] = []
    failures: list[tuple[str, str]] = []
    for given in inputs:
        path = Path(given).expanduser()
        try:
            if path.is_file() or (path.is_dir() and path.suffix.lower() == ".zarr"):
                items.append(InputItem(path, path.stem))
            elif path.is_dir():
                try:
                    items += [InputItem(seq.frame_path(t), seq.frame_path(t).stem, seq.path)
                              for seq in find_sequences(path) for t in seq.frames]
                except InputError:
                    images = list_images(path, IMAGE_SUFFIXES + MICROSCOPE_SUFFIXES)
                    items += [InputItem(p, p.stem) for p in _not_outputs(images, path)]
            elif glob.has_magic(str(given)):
                matches = sorted(glob.glob(str(path)), key=natural_key)
                if not matches:
                    raise InputError(path, "no file matches this pattern")
                found, bad = _expand(_not_outputs([Path(m) for m in matches], path))
                items += found
                failures += bad
            else:
                raise InputError(path, "input not found")
        except MicrosegError as exc:
            failures.append((str(given), str(exc)))
    return items, failures


def _not_outputs(paths: Sequence[Path], given: Path) -> list[Path]:
    """``paths`` (the listing of folder or pattern ``given``) less the outputs of the units
    recorded in their folders (:func:`~microseg.io.units.unit_names`); InputError when none
    is left."""
    from microseg.io.units import unit_names

    own = {folder: {p for name in unit_names(folder)
                    for p in output_paths(folder, name, tuple(OUTPUTS))}
           for folder in {p.parent for p in paths}}
    kept = [p for p in paths if p not in own[p.parent]]
    if not kept:
        raise InputError(given, "no images here besides microseg's own outputs")
    return kept


def _unique(items: list[InputItem]) -> tuple[list[InputItem], list[tuple[str, str]]]:
    """``items`` less repeated paths, with distinct stems (:func:`_distinct_stems`), and the
    failures of files that still share one (each naming another)."""
    from collections import Counter

    seen: set[Path] = set()
    kept = []
    for item in items:
        key = item.path.resolve()
        if key not in seen:
            seen.add(key)
            kept.append(item)
    groups: dict[str, list[InputItem]] = {}
    for item in kept:
        groups.setdefault(item.stem, []).append(item)
    stems = {item: stem for group in groups.values() if len(group) > 1
             for item, stem in zip(group, _distinct_stems(group))}
    kept = [replace(item, stem=stems.get(item, item.stem)) for item in kept]
    counts = Counter(item.stem for item in kept)
    failures = [(str(item.path), f"{item.path}: its outputs ({item.stem}_labels.tif, …) would "
                                 f"be those of {_sharing(item, kept)} too; rename one of them "
                                 f"or segment them into separate folders")
                for item in kept if counts[item.stem] > 1]
    return [item for item in kept if counts[item.stem] == 1], failures


def _distinct_stems(group: list[InputItem]) -> list[str]:
    """Distinct stems for files sharing one: the parent folder's name before it (``01_t000``),
    else the file type after it (``a_tif``, ``a_png``), else both; the stem itself when even
    that is shared."""
    def folder(item: InputItem) -> str:
        return f"{item.path.parent.name}_{item.stem}"

    def kind(item: InputItem) -> str:
        return f"{item.stem}_{item.path.suffix.lstrip('.').lower()}"

    for name in (folder, kind, lambda item: kind(replace(item, stem=folder(item)))):
        stems = [name(item) for item in group]
        if len(set(stems)) == len(stems):
            return stems
    return [item.stem for item in group]


def _sharing(item: InputItem, items: list[InputItem]) -> Path:
    """The first other input of ``items`` with ``item``'s stem."""
    return next(other.path for other in items if other.stem == item.stem and other != item)


def output_paths(out_dir: str | Path, stem: str,
                 save: Sequence[str] = DEFAULT_SAVE) -> list[Path]:
    """The paths of the outputs ``save`` (kinds of :data:`OUTPUTS`) of one input, in that
    order."""
    return [Path(out_dir) / OUTPUTS[kind].format(stem=stem) for kind in save]


def output_unit(out_dir: str | Path, stem: str, outputs: "Outputs | None" = None,
                source: Path | None = None, blockwise: bool = False) -> "OutputUnit":
    """The outputs of one input (:func:`output_paths`) as one unit (:mod:`microseg.io.units`):
    those of ``outputs``, or :data:`BLOCKWISE_SAVE` when segmented ``blockwise``; with
    ``outputs.zarr_into_input`` and an OME-Zarr ``source``, its ``zarr`` output is the label
    image in the input's ``labels/`` (:func:`zarr_target`)."""
    from microseg.io.units import OutputUnit

    outputs = outputs or Outputs()
    save = BLOCKWISE_SAVE if blockwise else outputs.save
    paths = output_paths(out_dir, stem, save)
    if "zarr" in save and source is not None and not blockwise:
        paths[save.index("zarr")] = zarr_target(out_dir, stem, outputs, source)
    return OutputUnit(Path(out_dir), stem, tuple(paths))


def zarr_target(out_dir: str | Path, stem: str, outputs: "Outputs", source: Path) -> Path:
    """Where the ``zarr`` output of input ``source`` goes: the input's
    ``labels/``:data:`~microseg.io.ngff.LABEL_NAME` for an OME-Zarr input with
    ``outputs.zarr_into_input``, else ``OUT/{stem}.ome.zarr``."""
    from microseg.io.ngff import LABEL_NAME

    if into_input(outputs, source):
        return source / "labels" / LABEL_NAME
    return Path(out_dir) / OUTPUTS["zarr"].format(stem=stem)


def into_input(outputs: "Outputs", source: Path) -> bool:
    """Whether the labels of ``source`` go into its own ``labels/`` (an OME-Zarr input and
    ``outputs.zarr_into_input``)."""
    return outputs.zarr_into_input and source.suffix.lower() == ".zarr" and source.is_dir()


@dataclass(frozen=True)
class Outputs:
    """What :func:`segment_paths` writes per input: the kinds ``save`` of :data:`OUTPUTS`; the
    ``zarr`` output of an OME-Zarr input into its own ``labels/`` (``zarr_into_input``) instead
    of ``OUT``; the QuPath object type of the GeoJSON features (``geojson_objects``)."""

    save: tuple[str, ...] = DEFAULT_SAVE
    zarr_into_input: bool = False
    geojson_objects: str = "detection"

    def __post_init__(self) -> None:
        from microseg.io.geojson import OBJECT_TYPES

        save = tuple(dict.fromkeys(self.save))
        object.__setattr__(self, "save", save)
        unknown = [kind for kind in save if kind not in OUTPUTS]
        if unknown or not save:
            raise ConfigError(f"unknown output(s) {', '.join(unknown) or '(none given)'} to "
                              f"save; choose from {', '.join(OUTPUTS)}")
        if self.zarr_into_input and "zarr" not in save:
            raise ConfigError("writing labels into an OME-Zarr input needs the zarr output "
                              "(--save …,zarr)")
        check_choice("geojson_objects", self.geojson_objects, OBJECT_TYPES)


@dataclass
class SegmentOptions:
    """Per-image settings of :func:`segment_paths`: those of :func:`segment` (see it for their
    meaning; ``spacing`` defaults to the file's pixel size) and, for reading, the ``channels``,
    ``frames`` and ``scene`` chosen (:func:`~microseg.io.images.read_image`)."""

    post: str | None = None
    post_params: dict[str, Any] | None = None
    diameter: float | str | None = None
    pixel_size: float | None = None
    z_context: str | None = None
    instances3d: str = "stitch"
    spacing: Sequence[float] | None = None
    channel_axis: int | None = None
    pipeline: str = "cells"
    edge_classifier: Any = None
    channels: "Channels | None" = None
    frames: "Frames | None" = None
    scene: int | str | None = None

    def kwargs(self) -> dict[str, Any]:
        """The settings as keyword arguments of :func:`segment` (all but the reading ones)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in READING}


#: The fields of :class:`SegmentOptions` that choose what to read.
READING = ("channels", "frames", "scene")


def _message(exc: Exception, path: Path) -> str:
    """The error as ``path: reason`` (errors naming a file already start with it); an
    unexpected kind of error is named with the line that raised it."""
    import traceback

    if isinstance(exc, InputError) and exc.path is not None:
        return str(exc)
    if isinstance(exc, (MicrosegError, OSError)):
        return f"{path}: {exc}"
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return (f"{path}: unexpected {type(exc).__name__} ({exc}) at {where.filename}:"
            f"{where.lineno}")


def check_options(predictor: "Predictor", options: SegmentOptions) -> SegmentOptions:
    """Raise :class:`ConfigError` for settings that would fail on every input; return the
    options ready for every input (an EM pipeline's edge classifier file loaded once)."""
    from microseg.infer.slices import check_z_context
    from microseg.post.registry import POSTPROCESSORS

    if options.diameter == AUTO:
        auto_diameter_reference(predictor, options.pixel_size)
    else:
        predictor.scale_factor(None if options.diameter == FIXED else options.diameter,
                               options.pixel_size)
    if options.post is not None:
        POSTPROCESSORS.get(options.post)
    if options.z_context is not None:
        check_z_context(options.z_context)
    check_choice("instances3d", options.instances3d, INSTANCES_3D)
    if not is_em_pipeline(options.pipeline, options.edge_classifier):
        return options
    from microseg.pipelines.em import boundary_source, check_em_options, \
        load_edge_classifier

    check_em_options(options.pipeline, post=options.post, post_params=options.post_params,
                     channel_axis=options.channel_axis)
    boundary_source(predictor)
    return replace(options, edge_classifier=load_edge_classifier(options.edge_classifier,
                                                                 options.pipeline))


def read_input(path: Path, options: SegmentOptions, frame: int | None = None,
               lazy: bool = False) -> tuple["Image", SegmentOptions]:
    """An input file (its ``frame``, else ``options.frames``, and the channels and scene of
    ``options``) read with its own axes (``lazy``: as a dask array), and ``options`` with its
    channel axis and, unless given, its pixel size as ``spacing`` (a time axis left is an
    :class:`InputError`)."""
    from microseg.io.axes import single_image_channel_axis
    from microseg.io.images import read_image

    image = read_image(path, channels=options.channels, scene=options.scene,
                       frames=options.frames if frame is None else frame,
                       channel_axis=options.channel_axis, lazy=lazy)
    spacing = image.spacing if options.spacing is None else options.spacing
    return image, replace(options, channel_axis=single_image_channel_axis(image.axes, path),
                          spacing=spacing)


def segment_input(path: Path, image: "Image", predictor: "Predictor", options: SegmentOptions,
                  intensity_range: tuple[float, float] | None = None) -> "np.ndarray":
    """:func:`segment` on an image read from ``path`` (:func:`read_input`); its warnings and
    errors name the file."""
    from microseg.errors import warnings_naming

    try:
        with warnings_naming(path):
            return segment(image, predictor, intensity_range=intensity_range,
                           **options.kwargs())
    except InputError as exc:
        raise InputError(path, exc.reason) from None


def checked_unit(item: InputItem, out_dir: str | Path, outputs: Outputs,
                 options: SegmentOptions, blockwise: bool = False) -> "OutputUnit":
    """:func:`output_unit` of ``item``; :class:`InputError` when an output would replace the
    input, or its labels cannot go into the input's ``labels/`` (a time point, a scene other
    than the first, or a blockwise run)."""
    unit = output_unit(out_dir, item.stem, outputs, item.path, blockwise)
    if any(path.resolve() == item.path.resolve() for path in unit.outputs):
        raise InputError(item.path, "an output would replace this input; choose another "
                                    "output folder")
    if into_input(outputs, item.path) and blockwise:
        raise InputError(item.path, f"labels segmented block by block go to {unit.outputs[0]}, "
                                    f"not into the input's labels/; leave out --zarr-into-input")
    if into_input(outputs, item.path) and (item.frame is not None
                                           or str(options.scene) not in ("None", "0")):
        raise InputError(item.path, "the labels of a time point or of a scene other than the "
                                    "first cannot go into the input's labels/ (they belong to "
                                    "its first image, all time points); leave out "
                                    "--zarr-into-input to write them to OUT")
    return unit


def segment_file(item: InputItem, out_dir: str | Path, predictor: "Predictor",
                 options: SegmentOptions, overwrite: bool = False,
                 intensity_range: "tuple[float, float] | Callable[[], tuple[float, float]] | None"
                 = None, memory_limit: int | None = None,
                 settings: dict[str, Any] | None = None,
                 outputs: Outputs | None = None, blockwise: "BlockwiseOptions | None" = None,
                 progress: bool = False, workers_model: Any = None) -> tuple[list[Path], int]:
    """Segment one input file and write its outputs (``outputs``, default :class:`Outputs`)
    as one unit (:func:`output_unit`: claimed, written together, marked complete with the input
    and ``settings``, see :func:`settings_record`) → ``(paths, number of objects)``.

    ``intensity_range`` (sequence normalisation) may be a function, called only when the image
    is segmented. With ``blockwise``, or when the image would need more memory than
    ``memory_limit`` bytes (default: the RAM available now; :func:`check_memory`), it is
    segmented block by block (:func:`segment_file_blockwise`; ``progress``: Dask's;
    ``workers_model``: the model as its workers load it, default ``predictor``). Raises
    :class:`~microseg.io.units.Skipped` when the unit is complete (unless ``overwrite``) or
    another process holds it, and :class:`InputError`, writing nothing, for outputs in the way
    (:func:`_check_unit`) or an image whose blocks would not fit in memory either.
    """
    from microseg.errors import warnings_naming
    from microseg.io.units import source_record, write_record
    from microseg.measure import measure

    outputs = outputs or Outputs()
    lazy, lazy_options = read_input(item.path, options, item.frame, lazy=True)
    image_channel_axis(lazy, predictor)         # before any use: the error names channels
    chosen = blockwise
    blockwise = blockwise_plan(item.path, lazy.array, predictor, lazy_options, memory_limit,
                               blockwise)
    unit = checked_unit(item, out_dir, outputs, options, blockwise is not None)
    if blockwise is not None:
        if chosen is None and set(outputs.save) - set(BLOCKWISE_SAVE):
            warnings.warn(f"{item.path}: too large to segment in memory, so segmented block by "
                          f"block, which writes only "
                          f"{', '.join(path.name for path in unit.outputs)}", stacklevel=2)
        return segment_file_blockwise(item, lazy, unit, workers_model or predictor,
                                      lazy_options, blockwise, overwrite, intensity_range,
                                      settings, progress)
    source = {**source_record(item.path), "settings": settings}
    with unit.claimed() as took_over:
        if not overwrite:
            _check_unit(unit, source, took_over)
        image, options = read_input(item.path, options, item.frame)
        span = intensity_range() if callable(intensity_range) else intensity_range
        labels = segment_input(item.path, image, predictor, options, span)
        channels = channels_first(image.array, labels.ndim, options.channel_axis)
        table = measure(labels, channels, spacing=options.spacing, source=item.path)
        with warnings_naming(item.path), unit.staged(source) as paths:
            for kind, path in zip(outputs.save, paths):
                _write_output(kind, path, labels, channels, table, options.spacing, outputs,
                              into_input(outputs, item.path))
        if into_input(outputs, item.path):   # writing into the input changed its time stamp
            write_record(unit.marker, {**source_record(item.path), "settings": settings})
    return list(unit.outputs), len(table["label"])


def _write_output(kind: str, path: Path, labels: "np.ndarray", channels: "np.ndarray",
                  table: dict[str, "np.ndarray"], spacing: Sequence[float] | None,
                  outputs: Outputs, labels_into_input: bool) -> None:
    """Write output ``kind`` of :data:`OUTPUTS` to ``path`` (for ``zarr`` with
    ``labels_into_input``: the label image ``path`` inside the OME-Zarr input, see
    :func:`zarr_target`)."""
    import numpy as np

    from microseg.io.geojson import write_geojson
    from microseg.io.images import write_labels
    from microseg.io.ngff import write_ngff_image, write_ngff_labels
    from microseg.io.overlay import write_overlay
    from microseg.io.rois import write_imagej_rois
    from microseg.measure import write_measurements_csv

    if kind == "labels":
        write_labels(path, labels, spacing=spacing)
    elif kind == "overlay":
        write_overlay(path, np.moveaxis(channels, 0, -1) if len(channels) == 3 else channels[0],
                      labels)
    elif kind == "csv":
        write_measurements_csv(path, table)
    elif kind == "geojson":
        write_geojson(path, labels, table, object_type=outputs.geojson_objects)
    elif kind == "rois":
        write_imagej_rois(path, labels)
    elif labels_into_input:                   # replacing one is checked by the unit
        write_ngff_labels(path.parent.parent, labels, path.name, overwrite=True)
    else:
        spatial = "zyx"[3 - labels.ndim:]
        image = channels[0] if len(channels) == 1 else channels
        write_ngff_image(path, image, spatial if len(channels) == 1 else "c" + spatial,
                         spacing)
        write_ngff_labels(path, labels)


def segment_file_blockwise(item: InputItem, image: "Image", unit: "OutputUnit",
                           model: Any, options: SegmentOptions,
                           blockwise: "BlockwiseOptions", overwrite: bool = False,
                           intensity_range: "tuple[float, float] | Callable[[], "
                                            "tuple[float, float]] | None" = None,
                           settings: dict[str, Any] | None = None,
                           progress: bool = False) -> tuple[list[Path], int]:
    """:func:`segment_file` of an image read lazily (:func:`read_input`), block by block
    (:func:`~microseg.scale.segment_blockwise`): its two outputs ``{stem}.ome.zarr`` (the image
    and its label image, OME-NGFF) and ``{stem}.csv`` as ``unit``. The labels are written block
    by block to a Zarr array in the unit's staging folder, then into the OME-Zarr image.
    ``model``: a predictor, or the :class:`~microseg.scale.workers.ModelSource` workers load."""
    import dask.array as da

    from microseg.errors import warnings_naming
    from microseg.io.ngff import write_ngff_image, write_ngff_labels
    from microseg.io.units import source_record
    from microseg.measure import write_measurements_csv
    from microseg.scale.segment import segment_blockwise

    source = {**source_record(item.path), "settings": settings}
    with unit.claimed() as took_over:
        if not overwrite:
            _check_unit(unit, source, took_over)
        span = intensity_range() if callable(intensity_range) else intensity_range
        kwargs = {key: value for key, value in options.kwargs().items()
                  if key not in ("pipeline", "edge_classifier")}
        with warnings_naming(item.path), unit.staged(source) as (zarr_path, csv_path):
            try:
                result = segment_blockwise(
                    image.array, model, out=unit.staging / f".{item.stem}.labels.zarr",
                    block=blockwise.block, halo=blockwise.halo, scheduler=blockwise.scheduler,
                    workers=blockwise.workers, intensity_range=span, measurements=True,
                    progress=progress, pipeline=options.pipeline,
                    edge_classifier=options.edge_classifier, **kwargs)
            except InputError as exc:
                raise InputError(item.path, exc.reason) from None
            write_ngff_image(zarr_path, *_ngff_layout(image.array, image.axes), image.spacing)
            write_ngff_labels(zarr_path, da.from_zarr(result.labels))
            write_measurements_csv(csv_path, result.table)
    return list(unit.outputs), result.count


def _ngff_layout(array: Any, axes: str) -> tuple[Any, str]:
    """``array`` with axes ``axes`` (letters of ``CZYXS`` as read) in the order OME-NGFF asks
    for (``c``, ``z``, ``y``, ``x``; colour samples as channels) and those axes in lower case."""
    import dask.array as da

    letters = axes.upper().replace("S", "C")
    order = sorted(range(len(letters)), key=lambda k: "CZYX".index(letters[k]))
    return da.transpose(array, order), "".join(letters[k] for k in order).lower()


def blockwise_plan(path: Path, image: Any, predictor: "Predictor", options: SegmentOptions,
                   limit: int | None = None,
                   blockwise: "BlockwiseOptions | None" = None) -> "BlockwiseOptions | None":
    """How ``image`` (as read, numpy or dask) is segmented: None in memory, else block by
    block with the options returned: ``blockwise`` when given, or, for an image that would
    need more memory than ``limit`` bytes (default: the RAM available now; no check when that
    is unknown) in memory, blocks that do fit (:func:`~microseg.scale.segment.fitting_block`).
    :class:`InputError` naming ``path`` when even blocks would not fit."""
    from microseg.memory import available_memory, format_size
    from microseg.scale.segment import BlockwiseOptions, fitting_block, layout_probe

    probe = layout_probe(image)
    if blockwise is not None:
        return blockwise
    budget = available_memory() if limit is None else limit
    if budget is None or not is_segmentable_blockwise(options):
        check_memory(path, probe, predictor, options, limit)
        return None
    need = memory_estimate(probe, predictor, options)
    if need <= budget:
        return None
    block = fitting_block(probe, predictor, options.channel_axis, options.diameter,
                          options.pixel_size, options.instances3d,
                          lambda shape: memory_estimate(layout_probe(shape, image.dtype),
                                                        predictor, options) <= budget)
    if block is None:
        what = "available" if limit is None else "allowed by --memory-limit"
        raise InputError(path, f"needs about {format_size(need)} of memory to segment, more "
                               f"than the {format_size(budget)} {what}, and blocks of it "
                               f"would not fit either; set --memory-limit or free memory")
    return BlockwiseOptions(block=block)


def is_segmentable_blockwise(options: SegmentOptions) -> bool:
    """Whether ``options`` can be run block by block: the cells pipeline at one fixed scale."""
    return options.pipeline == "cells" and options.diameter in (None, FIXED) \
        or isinstance(options.diameter, (int, float))


def settings_record(model: Any, options: SegmentOptions,
                    predictor_options: dict[str, Any]) -> dict[str, Any] | None:
    """What a result depends on besides its input: the model (its checkpoint file's path, size
    and modification time, for a bundled name too, so updated weights count as a change) and
    the settings; None for a model or edge classifier given as an object, which no record can
    tell from another."""
    from microseg import zoo
    from microseg.io.units import source_record

    if not isinstance(model, (str, Path)) or not isinstance(options.edge_classifier,
                                                            (str, Path, type(None))):
        return None
    path = zoo.checkpoint_path(str(model)) if zoo.is_model_name(model) else Path(model)
    return {"model": source_record(path) if path.is_file() else str(model),
            "options": repr(options), "predictor": repr(sorted(predictor_options.items()))}


def _check_unit(unit: "OutputUnit", source: dict[str, Any], took_over: bool) -> None:
    """What may stop writing a unit without ``overwrite``: :class:`~microseg.io.units.Skipped`
    when it is complete for ``source``; :class:`InputError` when it is recorded for another
    input, or its outputs exist unrecorded (not written by microseg) and were not left by a
    killed process (``took_over``)."""
    from microseg.io.units import Skipped

    record = unit.record()
    written = all(path.exists() for path in unit.outputs)
    if record == source and written:
        raise Skipped("complete (--overwrite redoes it)")
    if record is not None and record.get("input") != source["input"]:
        raise InputError(unit.outputs[0], f"output of another input, {record.get('input')} "
                                          f"(use --overwrite to replace it)")
    if record is not None and record.get("settings") != source.get("settings") and written:
        raise InputError(unit.outputs[0], "output made with another model or other settings "
                                          "(use --overwrite to replace it)")
    existing = [path for path in unit.outputs if path.exists()]
    if existing and record is None and not took_over:
        raise InputError(existing[0], "output exists (use --overwrite to replace it)")


def memory_estimate(image: "np.ndarray", predictor: "Predictor",
                    options: SegmentOptions) -> int:
    """Peak memory (bytes) of segmenting ``image`` (as read) beyond the image itself:
    :data:`IMAGE_BYTES_PER_PIXEL` for each pixel at the network's scale (the image grid's when
    that is finer), :data:`NETWORK_BYTES_PER_PIXEL` for each pixel of a batch of tiles, and
    :data:`NETWORK_BYTES`. With ``diameter="auto"`` (or the default on a model that records its
    training sizes), this is the first pass's, at the model's scale."""
    import math

    from microseg.infer.inputs import spatial_ndim

    diameter = options.diameter if isinstance(options.diameter, (int, float)) else None
    factor = max(1.0, predictor.scale_factor(diameter, options.pixel_size))
    ndim = spatial_ndim(image, options.channel_axis)
    spatial = channels_first(image, ndim, options.channel_axis).shape[1:]
    scaled = 2 if predictor.mode(image, options.channel_axis) == "slices" else ndim
    pixels = math.prod(spatial) * factor ** scaled
    batch = predictor.batch_size * math.prod(predictor.tile_size(predictor.tile))
    return int(IMAGE_BYTES_PER_PIXEL * pixels + NETWORK_BYTES_PER_PIXEL * min(pixels, batch)
               + NETWORK_BYTES)


def check_memory(path: Path, image: "np.ndarray", predictor: "Predictor",
                 options: SegmentOptions, limit: int | None = None) -> None:
    """:class:`InputError` naming ``path`` when :func:`memory_estimate` exceeds ``limit``
    bytes (default: the RAM available now, :func:`~microseg.memory.available_memory`; no
    check when that is unknown)."""
    from microseg.memory import available_memory, format_size

    budget = available_memory() if limit is None else limit
    if budget is None:
        return
    need = memory_estimate(image, predictor, options)
    if need > budget:
        what = "available" if limit is None else "allowed by --memory-limit"
        raise InputError(path, f"needs about {format_size(need)} of memory to segment, more "
                               f"than the {format_size(budget)} {what}; crop or downscale the "
                               f"image, or set --memory-limit")


def sequence_range(sequence: Path, options: SegmentOptions | None = None
                   ) -> tuple[float, float]:
    """(min, max) intensity over every frame of a CTC sequence folder, or of a time-series file
    (its channels and scene chosen by ``options``), read one frame at a time."""
    from microseg.io.ctc import CTCSequence
    from microseg.io.images import read_image
    from microseg.preprocess.normalize import intensity_range

    if sequence.is_dir() and sequence.suffix.lower() != ".zarr":
        return CTCSequence(sequence).intensity_range()
    options = options or SegmentOptions()
    image = read_image(sequence, channels=options.channels, scene=options.scene,
                       channel_axis=options.channel_axis, lazy=True)
    time = image.axes.index("T")
    return intensity_range(image.array[(slice(None),) * time + (t,)].compute()
                           for t in range(image.array.shape[time]))


def run_records_dir(out_dir: str | Path) -> Path:
    """The folder of the run records of output folder ``out_dir``."""
    from microseg.io.units import BOOKKEEPING

    return Path(out_dir) / BOOKKEEPING / RUNS_DIR


def write_run_record(out_dir: str | Path, run: SegmentRun, model: Any,
                     options: SegmentOptions, predictor_options: dict[str, Any],
                     command: str | None, started: float) -> Path:
    """Record one run of :func:`segment_paths` as ``OUT/.microseg/runs/<start>-<pid>.json``
    (atomically): the ``command`` line (None when called from Python), microseg's version, start
    and end time, the model (its name or path; ``repr`` of an object), the settings, and the
    objects, seconds and failures per input. Returns the record's path."""
    import datetime
    import os
    import time

    from microseg.io.units import write_record
    from microseg.version import __version__

    def stamp(seconds: float) -> str:
        return datetime.datetime.fromtimestamp(seconds).isoformat(timespec="seconds")

    record = {"command": command, "version": __version__, "started": stamp(started),
              "finished": stamp(time.time()),
              "model": str(model) if isinstance(model, (str, Path)) else repr(model),
              "options": {f.name: repr(getattr(options, f.name)) for f in fields(options)},
              "predictor": {k: repr(v) for k, v in sorted(predictor_options.items())},
              "objects": run.objects, "seconds": run.seconds, "models": run.models,
              "skipped": [message for _, message in run.skipped],
              "failed": [message for _, message in run.failed]}
    name = f"{datetime.datetime.fromtimestamp(started):%Y%m%dT%H%M%S}-{os.getpid()}.json"
    path = run_records_dir(out_dir) / name
    write_record(path, record)
    return path


def segment_paths(inputs: Sequence[str | Path], out_dir: str | Path, model: Any = "default", *,
                  options: SegmentOptions | None = None, overwrite: bool = False,
                  progress: bool = True, memory_limit: int | None = None,
                  outputs: Outputs | None = None, blockwise: "BlockwiseOptions | None" = None,
                  command: str | None = None, **predictor_options: Any) -> SegmentRun:
    """Segment every input (files, folders, globs, CTC sequences) into ``out_dir``, writing
    ``outputs`` (default: labels, overlay and CSV; see :class:`Outputs`); with ``blockwise``,
    each block by block on Dask (see the module docstring).

    An input whose outputs are complete (:func:`output_unit`) is skipped unless ``overwrite``,
    as is one another process is segmenting into the same folder; so a rerun after a kill
    finishes the batch. An input that fails in any way (missing, unreadable, wrong shape,
    outputs in the way, more memory than ``memory_limit`` bytes — see :func:`segment_file` —
    or an unexpected error) is recorded in :attr:`SegmentRun.failed`; the other inputs are
    processed. ``predictor_options`` go to :func:`~microseg.pipelines.model.load_model`
    (``tta``, ``tile``, ``backend``, …). An EM pipeline without an edge classifier uses the bundled model's own
    (:func:`bundled_edge_classifier`). The run is recorded with ``command`` (the command line
    that started it, if any) by :func:`write_run_record`.
    """
    import time

    from tqdm import tqdm

    from microseg.io.units import Skipped

    started = time.time()
    given = options or SegmentOptions()
    auto = isinstance(model, str) and model == AUTO_MODEL
    loaded: dict[Any, LoadedModel] = {}

    def loaded_model(name: Any) -> LoadedModel:
        """The model ``name`` ready for the run, loaded once."""
        key = name if isinstance(name, (str, Path)) else id(name)
        if key not in loaded:
            loaded[key] = load_for_run(name, given, predictor_options, blockwise)
        return loaded[key]

    first = loaded_model(NUCLEI_MODEL if auto else model)
    items, failed = collect_inputs(inputs, first.options)
    run = SegmentRun(failed=list(failed), renamed={str(item.path): item.stem for item in items
                                                   if item.stem != item.path.stem})
    ranges: dict[Path, tuple[float, float]] = {}

    def range_of(sequence: Path) -> tuple[float, float]:
        """The sequence's intensity range, read once and only when an image needs it."""
        if sequence not in ranges:
            ranges[sequence] = sequence_range(sequence, first.options)
        return ranges[sequence]

    for item in tqdm(items, desc="segment", unit="image", disable=not progress):
        start = time.perf_counter()
        try:
            current = first
            if auto:
                run.models[item.stem] = chosen_model(item, first.options)
                current = loaded_model(run.models[item.stem])
            options = current.options
            span = None
            if current.predictor.normalization.method == "sequence" and item.sequence is not None:
                span = functools.partial(range_of, item.sequence)
            run.written[item.stem], run.objects[item.stem] = segment_file(
                item, out_dir, current.predictor, options, overwrite, span, memory_limit,
                current.settings, outputs, blockwise, progress, current.workers_model)
            run.seconds[item.stem] = time.perf_counter() - start
        except Skipped as exc:
            run.skipped.append((str(item.path), f"{item.path}: {exc}"))
        except Exception as exc:         # any failure of one image: report it, go on
            run.failed.append((str(item.path), _message(exc, item.path)))
    write_run_record(out_dir, run, model, first.options, predictor_options, command, started)
    return run


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for :func:`segment_paths`: its predictor, the run's options checked
    against it (:func:`check_options`), its settings record (:func:`settings_record`) and the
    model as blockwise workers load it."""

    predictor: "Predictor"
    options: SegmentOptions
    settings: dict[str, Any] | None
    workers_model: Any


def load_for_run(model: Any, options: SegmentOptions, predictor_options: dict[str, Any],
                 blockwise: "BlockwiseOptions | None" = None) -> LoadedModel:
    """Load ``model`` (:func:`~microseg.pipelines.model.load_model` with
    ``predictor_options``) and check ``options`` against it (:class:`LoadedModel`)."""
    from microseg.scale.workers import ModelSource

    predictor = load_model(model, **predictor_options)
    options = replace(options, edge_classifier=bundled_edge_classifier(
        model, options.pipeline, options.edge_classifier))
    settings = settings_record(model, options, predictor_options)
    if settings is not None and blockwise is not None:
        settings["blockwise"] = repr(blockwise)
    # a named model loads on every blockwise worker (a predictor object would travel to each)
    workers_model = ModelSource(str(model), tuple(sorted(predictor_options.items()))) \
        if isinstance(model, (str, Path)) else predictor
    return LoadedModel(predictor, check_options(predictor, options), settings, workers_model)


def chosen_model(item: InputItem, options: SegmentOptions) -> str:
    """The bundled model ``--model auto`` runs on ``item``
    (:func:`~microseg.pipelines.cells.auto_model` on its image, read lazily and strided)."""
    from microseg.io.axes import single_image_channel_axis

    image, options = read_input(item.path, options, item.frame, lazy=True)
    channel_axis = options.channel_axis
    if channel_axis is None:
        channel_axis = single_image_channel_axis(image.axes, image.path)
    return auto_model(image.array, channel_axis)
