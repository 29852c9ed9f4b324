"""Images in, labelled cells out: ``ms.segment``.

>>> import microseg as ms
>>> labels = ms.segment(image, model="runs/dsb/best.pt", tta="mean")    # doctest: +SKIP

Pipeline of one image: :class:`~microseg.infer.Predictor` (normalise, rescale, tiled network,
TTA) → maps → post-processing by name (:mod:`microseg.post.registry`) → labels. For a stack
segmented slice by slice by a 2D model, the 3D instances come from either

- ``instances3d="stitch"`` (default): 2D post-processing of every slice, then objects of
  consecutive slices linked one-to-one by IoU (:func:`~microseg.post.stitch3d.stitch_slices`);
- ``instances3d="stack"``: the per-slice maps stacked into ``(K, Z, Y, X)`` and post-processed
  in 3D, with ``spacing`` honoured by distance transforms.

Stitching is the default because a 2D model's maps carry no boundary between nuclei that touch
along z, so 3D post-processing of the stacked maps merges them (``benchmarks/segment_3d.py``
compares the two).

EM neuron segmentation (``pipeline="em-mc"`` / ``"em-lmc"``) takes another route: the network's
membrane probability map and the raw image go to the region-graph pipeline
(:func:`~microseg.post.graph.pipeline.segment_em`, multicut or lifted multicut with the random
forests of ``edge_classifier``; see :mod:`microseg.pipelines.em`). Files in, files out:
:mod:`microseg.pipelines.files`. This module imports nothing heavy at import time (``import
microseg`` stays light).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

from microseg.config import check_choice
from microseg.errors import ConfigError, InputError
from microseg.pipelines.model import AUTO_MODEL, NUCLEI_MODEL, bundled_edge_classifier, \
    load_model, pick_model
from microseg.pipelines.names import PIPELINES

if TYPE_CHECKING:
    import numpy as np

    from microseg.infer.predictor import Predictor
    from microseg.io.images import Image
    from microseg.models.meta import ModelMeta

INSTANCES_3D = ("stack", "stitch")
#: ``diameter="auto"``: measure the objects of a first pass at the model's scale, then segment
#: again at the scale that brings their median to the model's training diameter, by a factor
#: kept within ``AUTO_FACTORS``; a factor closer to 1 than ``AUTO_TOLERANCE`` (either way: f and 1/f
#: alike) keeps the first pass.
AUTO = "auto"
AUTO_FACTORS = (0.25, 4.0)
AUTO_TOLERANCE = 1.1
#: ``diameter=None`` (the default) with a model that records the range of object sizes it was
#: trained on (``ModelMeta.object_diameter_range``): the first pass at the model's scale is kept
#: unless its median object diameter lies outside that range by more than ``ADAPTIVE_MARGIN``
#: (either way); then the image is segmented again as with ``"auto"``. Objects 4× larger than in
#: training thus just work, while images at a trained scale cost one pass and are left alone.
#: ``diameter="model"`` always keeps the model's scale.
ADAPTIVE_MARGIN = 1.25
#: The adaptive default first looks at a 2D image at ``PROBE_FACTOR`` of its size (1/16 of the
#: pixels; maps post-processed on that coarse grid). Nuclei several times larger than any in
#: training are cut by the pass at the model's scale into pieces whose sizes look in range, so
#: that pass cannot tell; the probe sees them whole. When the probe's objects are larger than the
#: trained range allows (× ``ADAPTIVE_MARGIN``, as for the pass at the model's scale) and compact
#: (median solidity ≥ ``PROBE_SOLIDITY``: whole nuclei, not clumps of small nuclei merged at the
#: coarse scale), the image is segmented at the scale their diameter calls for instead of the
#: model's. Dark-background images only: on bright-background ones (bright-field, stains) the
#: coarse view turns texture and clusters of small cells into compact blobs.
PROBE_FACTOR = 0.25
PROBE_SOLIDITY = 0.9
#: The probe decides only on at least this many objects: one or two large blobs at the coarse
#: scale are as often a bright cluster of small nuclei as a few large ones.
PROBE_MIN_OBJECTS = 3
#: Images whose shorter side would fall below this many pixels at ``PROBE_FACTOR`` get no probe.
PROBE_MIN_SIDE = 32
FIXED = "model"


class Segmentation(NamedTuple):
    """What ``segment(..., measure=True)`` returns: the labels and their measurement table
    (:func:`microseg.measure.measure`: column name → ``(n,)`` array, one row per object, µm
    columns when ``spacing`` is given; ``pandas.DataFrame(result.table)`` makes a data frame)."""

    labels: "np.ndarray"
    table: dict[str, "np.ndarray"]


def segment(image: "np.ndarray | Image", model: Any = "default", *, tta: str | None = None,
            tile: int | tuple[int, ...] | None = None, post: str | None = None,
            post_params: dict[str, Any] | None = None, diameter: float | str | None = None,
            pixel_size: float | None = None, z_context: str | None = None,
            instances3d: str = "stitch", spacing: Sequence[float] | None = None,
            channel_axis: int | None = None,
            intensity_range: tuple[float, float] | None = None, pipeline: str = "cells",
            edge_classifier: Any = None, device: str | None = None,
            measure: bool = False) -> "np.ndarray | Segmentation":
    """Segment one image → instance labels ``(Y, X)`` or ``(Z, Y, X)``, uint16 (uint32 when
    needed), 0 = background; with ``measure=True`` a :class:`Segmentation` ``(labels, table)``
    whose table measures every object in every channel of ``image``.

    >>> labels, table = ms.segment(image, measure=True, spacing=(0.65, 0.65))  # doctest: +SKIP
    >>> pandas.DataFrame(table)[["label", "area_um2", "mean_intensity_c0"]]   # doctest: +SKIP

    Args:
        image: as read: ``(Y, X)``, ``(Y, X, RGB)``, ``(Z, Y, X)``, or channels along
            ``channel_axis``; or an :class:`~microseg.io.images.Image` (``ms.read_image``),
            whose channel axis and pixel size are used unless ``channel_axis`` / ``spacing``
            are given, and whose channels must be as many as the model takes (the error lists
            them by name).
        model: checkpoint / ONNX path, Predictor, module or bundled name (see
            :func:`~microseg.pipelines.model.load_model`); ``"auto"``: the bundled model for
            this image (:func:`~microseg.pipelines.model.pick_model`; logged).
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
        device: where the network runs: ``auto`` (a CUDA GPU when torch sees one), ``cpu``,
            ``cuda`` or ``cuda:N`` (:func:`~microseg.infer.device.resolve_device`); default
            ``auto``, or the device of a Predictor given.
        measure: also measure the objects (:class:`Segmentation`); ``spacing`` gives the µm
            columns.
    """
    import numpy as np

    from microseg.io.axes import single_image_channel_axis
    from microseg.io.images import Image

    read = image if isinstance(image, Image) else None
    if read is not None:
        image, spacing = read.array, read.spacing if spacing is None else spacing
    if isinstance(model, str) and model == AUTO_MODEL:
        model = auto_model(image, single_image_channel_axis(read.axes, read.path)
                           if read is not None and channel_axis is None else channel_axis)
    predictor = load_model(model, device=device)
    edge_classifier = bundled_edge_classifier(model, pipeline, edge_classifier)
    if read is not None and channel_axis is None:
        channel_axis = image_channel_axis(read, predictor)
    image = np.asarray(image)
    labels = _segment(image, predictor, tta=tta, tile=tile, post=post, post_params=post_params,
                      diameter=diameter, pixel_size=pixel_size, z_context=z_context,
                      instances3d=instances3d, spacing=spacing, channel_axis=channel_axis,
                      intensity_range=intensity_range, pipeline=pipeline,
                      edge_classifier=edge_classifier)
    if not measure:
        return labels
    from microseg.measure import measure as measure_objects

    channels = channels_first(image, labels.ndim, channel_axis)
    return Segmentation(labels, measure_objects(labels, channels, spacing=spacing))


def channels_first(image: "np.ndarray", ndim: int, channel_axis: int | None) -> "np.ndarray":
    """The raw image as ``(C, *spatial)`` (``ndim`` spatial axes) for measurements and
    overlays: ``channel_axis`` moved first, RGB(A) as three channels, else one channel."""
    import numpy as np

    if channel_axis is not None:
        return np.moveaxis(image, channel_axis, 0)
    if image.ndim == ndim + 1:                    # (Y, X, RGB[A])
        return np.moveaxis(image[..., :3], -1, 0)
    return image[None]


def _segment(image: "np.ndarray", predictor: "Predictor", *, tta: str | None, tile: Any,
             post: str | None, post_params: dict[str, Any] | None,
             diameter: float | str | None, pixel_size: float | None, z_context: str | None,
             instances3d: str, spacing: Sequence[float] | None, channel_axis: int | None,
             intensity_range: tuple[float, float] | None, pipeline: str,
             edge_classifier: Any) -> "np.ndarray":
    """The labels of :func:`segment`: ``image`` as an array, the model loaded, the
    channel axis and edge classifier resolved."""
    from microseg.infer.inputs import spatial_shape
    from microseg.infer.resample import resize_labels

    fixed = diameter == FIXED
    diameter = None if fixed else diameter
    if is_em_pipeline(pipeline, edge_classifier):
        from microseg.pipelines.em import check_em_options, load_edge_classifier, \
            segment_em_image

        check_em_options(pipeline, post=post, post_params=post_params, channel_axis=channel_axis)
        return segment_em_image(image, predictor, load_edge_classifier(edge_classifier, pipeline),
                                pipeline, diameter=diameter, pixel_size=pixel_size,
                                z_context=z_context, tta=tta, tile=tile,
                                intensity_range=intensity_range)
    mode = predictor.mode(image, channel_axis)

    on_training_grid = post_on_training_grid(predictor)

    def labels_at(scale_diameter: float | None) -> "np.ndarray":
        prediction = predictor.prediction(image, diameter=scale_diameter, pixel_size=pixel_size,
                                          channel_axis=channel_axis, z_context=z_context,
                                          tta=tta, tile=tile, intensity_range=intensity_range,
                                          on_image_grid=not on_training_grid)
        if not on_training_grid:
            return maps_to_labels(prediction.maps, predictor, post=post, post_params=post_params,
                                  spacing=spacing, slicewise=mode == "slices",
                                  instances3d=instances3d,
                                  bright_background=prediction.bright_background)
        shape = spatial_shape(image, channel_axis)
        grid = (next(iter(prediction.maps.values())) if isinstance(prediction.maps, dict)
                else prediction.maps).shape[1:]
        grid_spacing = None if spacing is None else tuple(
            float(d) * n / m for d, n, m in zip(spacing, shape, grid))
        labels = maps_to_labels(prediction.maps, predictor, post=post, post_params=post_params,
                                spacing=grid_spacing, slicewise=mode == "slices",
                                instances3d=instances3d,
                                bright_background=prediction.bright_background)
        return resize_labels(labels, shape)

    trained_range = predictor.meta.object_diameter_range
    adaptive = not fixed and diameter is None and pixel_size is None and bool(trained_range)
    if diameter != AUTO and not adaptive:
        return labels_at(diameter)
    trained = auto_diameter_reference(predictor, pixel_size)
    if adaptive and mode == "2d" and min(image.shape[:2]) * PROBE_FACTOR >= PROBE_MIN_SIDE:
        probe = predictor.prediction(image, diameter=trained / PROBE_FACTOR,
                                     channel_axis=channel_axis, tta="none", tile=tile,
                                     intensity_range=intensity_range, on_image_grid=False)
        if not probe.bright_background:
            coarse = maps_to_labels(probe.maps, predictor, post=post, post_params=post_params)
            large = compact_diameter(coarse, trained_range[1] * ADAPTIVE_MARGIN * PROBE_FACTOR
                                     / predictor.scale_factor())
            if large is not None:
                return labels_at(trained / scale_within_limits(trained, large / PROBE_FACTOR))
    first = labels_at(None if adaptive else trained)
    measured = measured_diameter(first, slicewise=mode == "slices")
    if measured is None:
        return first
    if adaptive:
        low, high = trained_range
        if low / ADAPTIVE_MARGIN <= measured * predictor.scale_factor() <= high * ADAPTIVE_MARGIN:
            return first
    factor = scale_within_limits(trained, measured)
    if max(factor, 1.0 / factor) <= AUTO_TOLERANCE:
        return first
    return labels_at(trained / factor)


def post_on_training_grid(predictor: "Predictor") -> bool:
    """Whether ``predictor``'s post-processing runs on the network's grid, its labels then
    resampled to the image (:func:`~microseg.infer.resample.resize_labels`): for a model trained
    on resampled images (its ``scale``), whose post-processing was tuned on that grid (lengths
    and areas such as ``min_distance`` and ``min_size`` mean pixels of it)."""
    return predictor.meta.scale not in (None, 1, 1.0)


def image_channel_axis(image: "Image", predictor: "Predictor") -> int | None:
    """The channel axis of ``image`` (None without one; a time axis is an
    :class:`InputError`), checked to hold the model's number of channels."""
    from microseg.io.axes import single_image_channel_axis
    from microseg.io.select import describe_channels

    axis = single_image_channel_axis(image.axes, image.path)
    count = None if axis is None else image.array.shape[axis]
    wanted = predictor.in_channels
    if count is not None and count != wanted:
        names = image.channel_names if len(image.channel_names) == count else ()
        example = ",".join(names[:wanted] or map(str, range(min(wanted, count))))
        raise InputError(image.path, f"the model takes {wanted} channel(s), the image has "
                                     f"{count}: {describe_channels(count, names)}; choose "
                                     f"with --channel (channels=), e.g. --channel {example}")
    return axis


def auto_model(image: Any, channel_axis: int | None = None) -> str:
    """The bundled model ``model="auto"`` runs on ``image`` (numpy or dask): chosen on a 2D
    grey or RGB image, else the nuclei model."""
    import numpy as np

    shape = np.shape(image)
    planar = channel_axis is None and (len(shape) == 2
                                       or (len(shape) == 3 and shape[-1] in (3, 4)))
    name = pick_model(image) if planar else NUCLEI_MODEL
    logging.getLogger(__name__).info("model auto: %s", name)
    return name


def scale_within_limits(trained: float, diameter: float) -> float:
    """The factor that brings objects of ``diameter`` pixels to the training diameter
    ``trained``, kept within :data:`AUTO_FACTORS`."""
    low, high = AUTO_FACTORS
    return min(max(trained / diameter, low), high)


def compact_diameter(labels: "np.ndarray", above: float) -> float | None:
    """The median equivalent diameter (pixels) of the objects of ``labels`` ``(Y, X)`` when it
    exceeds ``above``, the objects are compact (median solidity ≥ :data:`PROBE_SOLIDITY`) and
    there are at least :data:`PROBE_MIN_OBJECTS` of them, else None."""
    import numpy as np

    from microseg.measure.hull import convex_count
    from microseg.measure.runs import label_runs

    diameter = measured_diameter(labels)
    if (diameter is None or diameter <= above
            or np.count_nonzero(np.bincount(labels.ravel())[1:]) < PROBE_MIN_OBJECTS):
        return None
    runs = label_runs(labels)
    solidity = runs.reduce(np.add, runs.length) / np.maximum(convex_count(runs), 1)
    return diameter if float(np.median(solidity)) >= PROBE_SOLIDITY else None


def auto_diameter_reference(predictor: "Predictor", pixel_size: float | None = None) -> float:
    """The training object diameter (pixels) that ``diameter="auto"`` rescales to; ConfigError
    when the model records none or a pixel size is given as well."""
    if pixel_size is not None:
        raise ConfigError("give either diameter='auto' or a pixel size, not both")
    trained = predictor.meta.object_diameter
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


def is_em_pipeline(pipeline: str, edge_classifier: Any) -> bool:
    """Whether ``pipeline`` is an EM pipeline; ConfigError for an unknown one or an edge
    classifier given to the ``cells`` pipeline."""
    check_choice("pipeline", pipeline, PIPELINES)
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

    from microseg.post.stitch3d import stitch_slices
    from microseg.post.registry import default_post, postprocess

    check_choice("instances3d", instances3d, INSTANCES_3D)
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


def _trained_band(meta: "ModelMeta") -> int:
    """Width of the background band of the 2D three-class target a slice-wise model learnt."""
    from microseg.targets.three_class import default_dilation

    dilation = (meta.target or {}).get("dilation")
    return int(dilation) if dilation is not None else default_dilation(2)

