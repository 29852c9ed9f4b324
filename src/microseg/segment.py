"""Images in, labelled cells out: ``ms.segment`` and the per-file pipeline of ``microseg segment``.

>>> import microseg as ms
>>> labels = ms.segment(image, model="runs/dsb/best.pt", tta="mean")    # doctest: +SKIP

Pipeline of one image: :class:`~microseg.infer.Predictor` (normalise, rescale, tiled network,
TTA) → maps → post-processing by name (:mod:`microseg.post.registry`) → labels. For a stack
segmented slice by slice by a 2D model, the 3D instances come from either

- ``instances3d="stitch"`` (default): 2D post-processing of every slice, then objects of
  consecutive slices linked one-to-one by IoU (:func:`~microseg.infer.stitch3d.stitch_slices`);
- ``instances3d="stack"``: the per-slice maps stacked into ``(K, Z, Y, X)`` and post-processed
  in 3D, with ``spacing`` honoured by distance transforms.

Stitching is the default because a 2D model's maps carry no boundary between nuclei that touch
along z, so 3D post-processing of the stacked maps merges them: on synthetic ``nuclei3d``
volumes, even perfect per-slice 3-class maps give CTC SEG 0.61 stacked against 0.90 stitched,
and briefly trained U-Nets 0.50–0.55 against 0.61 (``benchmarks/segment_3d.py``).

EM neuron segmentation (``pipeline="em-mc"`` / ``"em-lmc"``) takes another route: the network's
membrane probability map and the raw image go to the region-graph pipeline
(:func:`~microseg.post.graph.pipeline.segment_em`, multicut or lifted multicut with the random
forests of ``edge_classifier``; see :mod:`microseg.post.graph.em_network`).

The file pipeline (:func:`segment_paths`) reads each input, segments it and writes, named after
the input's stem: ``{stem}_labels.tif`` (uint16/uint32), ``{stem}_overlay.png`` and
``{stem}.csv`` (:func:`microseg.measure.measure`). This module imports nothing heavy at import
time (``import microseg`` stays light).
"""
from __future__ import annotations

import glob
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from microseg.errors import ConfigError, InputError, MicrosegError

if TYPE_CHECKING:
    import numpy as np

    from microseg.infer.predictor import Predictor

INSTANCES_3D = ("stack", "stitch")
#: ``diameter="auto"``: measure the objects of a first pass at the model's scale, then segment
#: again at the scale that brings their median to the model's training diameter, by a factor
#: kept within ``AUTO_FACTORS``; a factor closer to 1 than ``AUTO_TOLERANCE`` (either way: f and 1/f
#: alike) keeps the first pass.
AUTO = "auto"
AUTO_FACTORS = (0.25, 4.0)
AUTO_TOLERANCE = 1.1
#: ``diameter=None`` (the default) with a model that records the range of object sizes it was
#: trained on (``meta["object_diameter_range"]``): the first pass at the model's scale is kept
#: unless its median object diameter lies outside that range by more than ``ADAPTIVE_MARGIN``
#: (either way); then the image is segmented again as with ``"auto"``. Objects 4× larger than in
#: training thus just work, while images at a trained scale cost one pass and are left alone.
#: ``diameter="model"`` always keeps the model's scale.
ADAPTIVE_MARGIN = 1.25
FIXED = "model"
#: ``cells``: maps → post-processing; ``em-mc`` / ``em-lmc``: membrane map → region graph →
#: multicut / lifted multicut.
PIPELINES = ("cells", "em-mc", "em-lmc")
OUTPUTS = ("{stem}_labels.tif", "{stem}_overlay.png", "{stem}.csv")


def load_model(model: Any = "default", **options: Any) -> "Predictor":
    """A :class:`~microseg.infer.Predictor` for ``model``: a checkpoint / ONNX path, a
    ``torch.nn.Module``, a Predictor (returned as is), or the name of a bundled model
    (:func:`microseg.zoo.load_model`; an unknown name raises :class:`InputError` listing the
    available ones).

    ``options`` go to the Predictor (``tta``, ``tile``, ``backend``, ``threads``, …).
    """
    from torch import nn

    from microseg import zoo
    from microseg.infer.predictor import Predictor

    if isinstance(model, Predictor):
        return model
    if isinstance(model, nn.Module):
        return Predictor(model, **options)
    return zoo.load_model(model, **options)


def bundled_edge_classifier(model: Any, pipeline: str, edge_classifier: Any) -> Any:
    """The edge classifier an EM pipeline uses: ``edge_classifier`` when given, else the one
    bundled with ``model`` when it names a bundled EM model (:mod:`microseg.zoo`), else None."""
    if edge_classifier is not None or pipeline == "cells":
        return edge_classifier
    from microseg.zoo import edge_classifier_for

    return edge_classifier_for(model)


def segment(image: "np.ndarray", model: Any = "default", *, tta: str | None = None,
            tile: int | tuple[int, ...] | None = None, post: str | None = None,
            post_params: dict[str, Any] | None = None, diameter: float | str | None = None,
            pixel_size: float | None = None, z_context: str | None = None,
            instances3d: str = "stitch", spacing: Sequence[float] | None = None,
            channel_axis: int | None = None,
            intensity_range: tuple[float, float] | None = None, pipeline: str = "cells",
            edge_classifier: Any = None) -> "np.ndarray":
    """Segment one image → instance labels ``(Y, X)`` or ``(Z, Y, X)``, uint16 (uint32 when
    needed), 0 = background.

    Args:
        image: as read: ``(Y, X)``, ``(Y, X, RGB)``, ``(Z, Y, X)``, or channels along
            ``channel_axis``.
        model: checkpoint / ONNX path, Predictor, module or bundled name (see :func:`load_model`).
        tta: ``none`` | ``mean`` | ``max`` (default: the predictor's).
        tile: tile size in pixels (default: the predictor's).
        post: post-processing name (:data:`microseg.post.registry.POSTPROCESSORS`); default the
            checkpoint's (:func:`~microseg.post.registry.default_post`), whose recorded
            parameters apply only to that method (with those it records for bright-background
            images when the normalisation inverted this one).
        post_params: parameters of the post-processing (override the checkpoint's).
        diameter: typical object diameter in the image (pixels); rescales to the model's.
            ``"auto"``: measured on a first pass (see :data:`AUTO`). ``None``: the model's
            scale unless the first pass finds objects outside the sizes the model was trained
            on (see :data:`ADAPTIVE_MARGIN`); ``"model"``: always the model's scale.
        pixel_size: pixel size in the model's physical unit; rescales to the model's.
        z_context: ``pseudocolor`` | ``none`` for a 2D model on a stack.
        instances3d: ``stack`` or ``stitch`` (see the module docstring).
        spacing: pixel / voxel size per axis, e.g. ``(2.0, 0.5, 0.5)`` (Z, Y, X).
        intensity_range: (min, max) of the whole sequence for ``sequence`` normalisation.
        pipeline: ``cells`` (maps → ``post``) or, for grey EM images / stacks, ``em-mc`` /
            ``em-lmc``: the model's membrane map (a one-map output, or 1 − P(last class) of a
            class output) → superpixels → region graph → multicut / lifted multicut. EM
            pipelines take no ``post``, ``post_params`` or ``channel_axis`` and ignore
            ``instances3d`` and ``spacing`` (the graph follows the classifier's training
            configuration).
        edge_classifier: EM pipelines: edge random forests, a file written by ``microseg
            train-edges`` or an :class:`~microseg.post.graph.EdgeClassifier`; None uses the
            bundled model's own when ``model`` names one, else each face's mean membrane
            probability as its cut probability.
    """
    import numpy as np

    predictor = load_model(model)
    edge_classifier = bundled_edge_classifier(model, pipeline, edge_classifier)
    image = np.asarray(image)
    fixed = diameter == FIXED
    diameter = None if fixed else diameter
    if _is_em(pipeline, edge_classifier):
        from microseg.post.graph.em_network import check_em_options, load_edge_classifier, \
            segment_em_image

        check_em_options(pipeline, post=post, post_params=post_params, channel_axis=channel_axis)
        return segment_em_image(image, predictor, load_edge_classifier(edge_classifier, pipeline),
                                pipeline, diameter=diameter, pixel_size=pixel_size,
                                z_context=z_context, tta=tta, tile=tile,
                                intensity_range=intensity_range)
    mode = predictor.mode(image, channel_axis)

    def labels_at(scale_diameter: float | None) -> "np.ndarray":
        prediction = predictor.prediction(image, diameter=scale_diameter, pixel_size=pixel_size,
                                          channel_axis=channel_axis, z_context=z_context,
                                          tta=tta, tile=tile, intensity_range=intensity_range)
        return maps_to_labels(prediction.maps, predictor, post=post, post_params=post_params,
                              spacing=spacing, slicewise=mode == "slices",
                              instances3d=instances3d,
                              bright_background=prediction.bright_background)

    trained_range = predictor.meta.get("object_diameter_range")
    adaptive = not fixed and diameter is None and pixel_size is None and bool(trained_range)
    if diameter != AUTO and not adaptive:
        return labels_at(diameter)
    trained = auto_diameter_reference(predictor, pixel_size)
    first = labels_at(None if adaptive else trained)
    measured = measured_diameter(first, slicewise=mode == "slices")
    if measured is None:
        return first
    if adaptive:
        low, high = trained_range
        if low / ADAPTIVE_MARGIN <= measured * predictor.scale_factor() <= high * ADAPTIVE_MARGIN:
            return first
    low, high = AUTO_FACTORS
    factor = float(np.clip(trained / measured, low, high))
    if max(factor, 1.0 / factor) <= AUTO_TOLERANCE:
        return first
    return labels_at(trained / factor)


def auto_diameter_reference(predictor: "Predictor", pixel_size: float | None = None) -> float:
    """The training object diameter (pixels) that ``diameter="auto"`` rescales to; ConfigError
    when the model records none or a pixel size is given as well."""
    if pixel_size is not None:
        raise ConfigError("give either diameter='auto' or a pixel size, not both")
    trained = predictor.meta.get("object_diameter")
    if not trained:
        raise ConfigError("diameter='auto' needs a model that records its training object "
                          "diameter (trained with data.sources[].diameter)")
    return float(trained)


def measured_diameter(labels: "np.ndarray", slicewise: bool = False) -> float | None:
    """Median equivalent diameter (pixels) of the objects of ``labels`` ``(Y, X)`` or ``(Z, Y,
    X)`` (discs per plane when ``slicewise``, balls otherwise); None without objects."""
    import numpy as np

    from microseg.data.rescale import median_diameter

    value = median_diameter(list(labels) if slicewise else labels)
    return None if np.isnan(value) else value


def _is_em(pipeline: str, edge_classifier: Any) -> bool:
    """Whether ``pipeline`` is an EM pipeline; ConfigError for an unknown one or an edge
    classifier given to the ``cells`` pipeline."""
    if pipeline not in PIPELINES:
        raise ConfigError(f"pipeline must be one of {PIPELINES}, got {pipeline!r}")
    if pipeline == "cells" and edge_classifier is not None:
        raise ConfigError("an edge classifier is used by the EM pipelines only (give "
                          "--pipeline em-mc or em-lmc)")
    return pipeline != "cells"


def maps_to_labels(maps: Any, predictor: "Predictor", *, post: str | None = None,
                   post_params: dict[str, Any] | None = None,
                   spacing: Sequence[float] | None = None, slicewise: bool = False,
                   instances3d: str = "stitch", bright_background: bool = False) -> "np.ndarray":
    """Post-process a predictor's maps into instance labels (see :func:`segment`);
    ``bright_background``: the image's background was inverted (:class:`~microseg.infer.
    Prediction`), so the checkpoint's post-processing for such images applies."""
    import numpy as np

    from microseg.infer.stitch3d import stitch_slices
    from microseg.post.registry import default_post, postprocess

    if instances3d not in INSTANCES_3D:
        raise ConfigError(f"instances3d must be one of {INSTANCES_3D}, got {instances3d!r}")
    name, params = default_post(predictor.meta, [h for h, _ in predictor.heads],
                                bright_background)
    if post is not None and post != name:
        name, params = post, {}
    params.update(post_params or {})
    if not slicewise:
        return postprocess(name, maps, spacing=spacing, **params)
    if instances3d == "stitch":
        plane_spacing = None if spacing is None else tuple(spacing)[1:]
        depth = (next(iter(maps.values())) if isinstance(maps, dict) else maps).shape[1]
        planes = [postprocess(name, _plane(maps, z), spacing=plane_spacing, **params)
                  for z in range(depth)]
        return stitch_slices(np.stack(planes))
    if name == "three_class":
        params.setdefault("band", _trained_band(predictor.meta))
    return postprocess(name, maps, spacing=spacing, **params)


def _plane(maps: Any, z: int) -> Any:
    if isinstance(maps, dict):
        return {head: value[:, z] for head, value in maps.items()}
    return maps[:, z]


def _trained_band(meta: dict[str, Any]) -> int:
    """Width of the background band of the 2D three-class target a slice-wise model learnt."""
    from microseg.targets.three_class import default_dilation

    target = meta.get("target") or {}
    dilation = target.get("dilation") if isinstance(target, dict) else None
    return int(dilation) if dilation is not None else default_dilation(2)


# --- files ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputItem:
    """One image to segment: its file, the output stem, and the CTC sequence it belongs to."""

    path: Path
    stem: str
    sequence: Path | None = None


@dataclass
class SegmentRun:
    """What :func:`segment_paths` did: outputs written, objects found and seconds taken per
    input stem, and failures (input, message starting with the offending path) in input
    order."""

    written: dict[str, list[Path]] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def collect_inputs(inputs: Sequence[str | Path]) -> tuple[list[InputItem], list[tuple[str, str]]]:
    """Expand files (and OME-Zarr folders), folders (their images), CTC sequence or dataset
    folders (their frames) and glob patterns into items → ``(items, failures)``. Stems shared
    by several files are prefixed with the parent folder's name (``01_t000``); a path given
    twice counts once."""
    from microseg.io.ctc import find_sequences
    from microseg.io.folders import list_images, natural_key

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
                    items += [InputItem(p, p.stem) for p in list_images(path)]
            elif glob.has_magic(str(given)):
                matches = sorted(glob.glob(str(path)), key=natural_key)
                if not matches:
                    raise InputError(path, "no file matches this pattern")
                found, bad = collect_inputs(matches)
                items += found
                failures += bad
            else:
                raise InputError(path, "input not found")
        except MicrosegError as exc:
            failures.append((str(given), str(exc)))
    return _unique(items), failures


def _unique(items: list[InputItem]) -> list[InputItem]:
    seen: set[Path] = set()
    kept = []
    for item in items:
        key = item.path.resolve()
        if key not in seen:
            seen.add(key)
            kept.append(item)
    stems = [i.stem for i in kept]
    repeated = {s for s in stems if stems.count(s) > 1}
    return [InputItem(i.path, f"{i.path.parent.name}_{i.stem}", i.sequence)
            if i.stem in repeated else i for i in kept]


def output_paths(out_dir: str | Path, stem: str) -> list[Path]:
    """Label TIFF, overlay PNG and measurement CSV paths of one input."""
    return [Path(out_dir) / pattern.format(stem=stem) for pattern in OUTPUTS]


@dataclass
class SegmentOptions:
    """Per-image settings of :func:`segment_paths` (see :func:`segment` for their meaning)."""

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

    def kwargs(self) -> dict[str, Any]:
        """The settings as keyword arguments of :func:`segment`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _message(exc: Exception, path: Path) -> str:
    """The error as ``path: reason`` (errors naming a file already start with it)."""
    if isinstance(exc, InputError) and exc.path is not None:
        return str(exc)
    return f"{path}: {exc}"


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
    if options.instances3d not in INSTANCES_3D:
        raise ConfigError(f"instances3d must be one of {INSTANCES_3D}, got "
                          f"{options.instances3d!r}")
    if not _is_em(options.pipeline, options.edge_classifier):
        return options
    from microseg.post.graph.em_network import boundary_source, check_em_options, \
        load_edge_classifier

    check_em_options(options.pipeline, post=options.post, post_params=options.post_params,
                     channel_axis=options.channel_axis)
    boundary_source(predictor)
    return replace(options, edge_classifier=load_edge_classifier(options.edge_classifier,
                                                                 options.pipeline))


def segment_file(item: InputItem, out_dir: str | Path, predictor: "Predictor",
                 options: SegmentOptions, overwrite: bool = False,
                 intensity_range: tuple[float, float] | None = None) -> tuple[list[Path], int]:
    """Segment one input file and write its three outputs (each atomically) → ``(paths,
    number of objects)``. An existing output raises :class:`InputError` unless ``overwrite``;
    nothing is written then."""
    import numpy as np

    from microseg.io.images import read_image, write_labels
    from microseg.io.overlay import write_overlay
    from microseg.measure import measure, write_measurements_csv

    paths = output_paths(out_dir, item.stem)
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise InputError(existing[0], "output exists (use --overwrite to replace it)")
    image = read_image(item.path)
    try:
        labels = segment(image, predictor, intensity_range=intensity_range, **options.kwargs())
    except InputError as exc:
        raise InputError(item.path, exc.reason) from None
    channels = _channels_first(image, labels.ndim, options.channel_axis)
    table = measure(labels, channels, spacing=options.spacing, source=item.path)
    write_labels(paths[0], labels)
    write_overlay(paths[1], np.moveaxis(channels, 0, -1) if len(channels) == 3 else channels[0],
                  labels)
    write_measurements_csv(paths[2], table)
    return paths, len(table["label"])


def _channels_first(image: "np.ndarray", ndim: int, channel_axis: int | None) -> "np.ndarray":
    """The raw image as ``(C, *spatial)`` for measurements and overlays."""
    import numpy as np

    if channel_axis is not None:
        return np.moveaxis(image, channel_axis, 0)
    if image.ndim == ndim + 1:                    # (Y, X, RGB[A])
        return np.moveaxis(image[..., :3], -1, 0)
    return image[None]


def sequence_range(sequence: Path) -> tuple[float, float]:
    """(min, max) intensity over every frame of a CTC sequence folder."""
    from microseg.io.ctc import CTCSequence

    seq = CTCSequence(sequence)
    extremes = [(float(f.min()), float(f.max())) for f in map(seq.image, seq.frames)]
    return min(e[0] for e in extremes), max(e[1] for e in extremes)


def segment_paths(inputs: Sequence[str | Path], out_dir: str | Path, model: Any = "default", *,
                  options: SegmentOptions | None = None, overwrite: bool = False,
                  progress: bool = True, **predictor_options: Any) -> SegmentRun:
    """Segment every input (files, folders, globs, CTC sequences) into ``out_dir``.

    A bad input (missing, unreadable, wrong shape, existing output without ``overwrite``) is
    recorded in :attr:`SegmentRun.failed` and skipped; the other inputs are processed.
    ``predictor_options`` go to :func:`load_model` (``tta``, ``tile``, ``backend``, …). An EM
    pipeline without an edge classifier uses the bundled model's own
    (:func:`bundled_edge_classifier`).
    """
    import time

    from tqdm import tqdm

    predictor = load_model(model, **predictor_options)
    options = options or SegmentOptions()
    options = check_options(predictor, replace(options, edge_classifier=bundled_edge_classifier(
        model, options.pipeline, options.edge_classifier)))
    items, failed = collect_inputs(inputs)
    run = SegmentRun(failed=list(failed))
    sequence_method = predictor.normalization.method == "sequence"
    ranges: dict[Path, tuple[float, float]] = {}
    for item in tqdm(items, desc="segment", unit="image", disable=not progress):
        start = time.perf_counter()
        try:
            span = None
            if sequence_method and item.sequence is not None:
                if item.sequence not in ranges:
                    ranges[item.sequence] = sequence_range(item.sequence)
                span = ranges[item.sequence]
            run.written[item.stem], run.objects[item.stem] = segment_file(
                item, out_dir, predictor, options, overwrite, span)
            run.seconds[item.stem] = time.perf_counter() - start
        except (MicrosegError, OSError) as exc:
            run.failed.append((str(item.path), _message(exc, item.path)))
    return run
