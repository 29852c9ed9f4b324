"""The EM graph pipeline driven by a boundary network: what ``microseg segment --pipeline
em-mc|em-lmc`` and ``microseg train-edges`` run.

    from microseg.pipelines.em import train_edges
    train_edges("train/images", "train/labels", "runs/isbi/best.pt", "rf.npz", slices="0:15")
    labels = ms.segment(stack, "runs/isbi/best.pt", pipeline="em-lmc", edge_classifier="rf.npz")

The network (a :class:`~microseg.infer.Predictor`) gives the membrane probability of every pixel
(:func:`boundary_map`); with the raw image prepared by :func:`em_raw` — the one function used
both when the random forests are trained and when they segment, so they see the same intensity
features — it goes to :func:`~microseg.post.graph.pipeline.train_edge_classifier` /
:func:`~microseg.post.graph.pipeline.segment_em`. A ``(Z, Y, X)`` stack goes through a 2D model
slice by slice and through the graph in the mode the classifier was trained with
(``EMGraphConfig.graph.mode``: ``"2d"`` by default, one segmentation per section).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from microseg.config import check_choice, from_dict, load_yaml
from microseg.errors import ConfigError, InputError
from microseg.infer.inputs import spatial_ndim
from microseg.pipelines.model import load_model
from microseg.pipelines.names import EM_PIPELINES
from microseg.post.graph.config import EMGraphConfig
from microseg.post.graph.edge_classifier import EdgeClassifier, check_classifier_path
from microseg.post.graph.pipeline import segment_em, train_edge_classifier
from microseg.preprocess.normalize import intensity_range, normalize_percentile, to_grey

if TYPE_CHECKING:
    from microseg.infer.predictor import Maps, Predictor

#: Intensity percentiles of one section mapped to 0 and 1 by :func:`em_raw`.
RAW_PERCENTILES = (1.0, 99.8)


def em_grey(image: np.ndarray, path: str | Path | None = None) -> np.ndarray:
    """A grey EM image ``(Y, X)`` or stack ``(Z, Y, X)``; an RGB(A) image ``(Y, X, 3|4)`` is
    converted by luminance."""
    image = np.asarray(image)
    if image.dtype.kind not in "biuf":
        raise InputError(path, f"EM image must hold numbers, got dtype {image.dtype}")
    if image.ndim == 3 and spatial_ndim(image, None, path) == 2:
        return to_grey(image)
    if image.ndim not in (2, 3):
        raise InputError(path, f"EM image must be (Y, X) or (Z, Y, X), got shape {image.shape}")
    return image


def em_raw(image: np.ndarray) -> np.ndarray:
    """The raw image as the edge classifier sees it, in training and in segmentation: grey
    float32 of the same shape ``(Y, X)`` / ``(Z, Y, X)``, each section on its own mapped from
    its 1st / 99.8th intensity percentiles to 0 / 1 and clipped (so a section's features do not
    depend on which other sections share its stack)."""
    grey = em_grey(image)
    sections = grey[None] if grey.ndim == 2 else grey
    low, high = RAW_PERCENTILES
    raw = normalize_percentile(sections, low, high, axis=(1, 2), clip=True)
    return raw[0] if grey.ndim == 2 else raw


def em_method(pipeline: str) -> str:
    """The :func:`segment_em` method of an EM ``pipeline`` name; ConfigError for another name."""
    check_choice("pipeline", pipeline, EM_PIPELINES)
    return EM_PIPELINES[pipeline]


# --- boundary maps from a network ----------------------------------------------------------------

def boundary_source(predictor: "Predictor") -> tuple[str | None, str]:
    """Which output of ``predictor`` holds the membrane probability → ``(head, kind)``.

    ``kind`` is ``"map"`` for a one-channel output (a ``boundary`` target: the membrane
    probability itself) and ``"classes"`` for a softmax class output, whose membrane
    probability is 1 − P(last class): the last class is the cell interior in microseg's class
    targets (``fgbg``: background / cell; ``three_class``: background / boundary / cell), so
    membrane and background both count as boundary. A multi-head model uses its ``boundary``
    head. Anything else raises :class:`ConfigError`.
    """
    heads = dict(predictor.heads)
    if len(heads) == 1:
        head = next(iter(heads))
    elif "boundary" in heads:
        head = "boundary"
    else:
        raise ConfigError(f"EM pipelines need a membrane map: the model has heads "
                          f"{sorted(map(str, heads))} and none is named 'boundary'")
    if heads[head] == 1:
        return head, "map"
    if predictor.activations.get(head) == "softmax":
        return head, "classes"
    raise ConfigError(f"EM pipelines need a membrane map: the model's output "
                      f"{'' if head is None else repr(head) + ' '}has {heads[head]} channels that "
                      f"are not classes (activation {predictor.activations.get(head)!r})")


def boundary_map(maps: "Maps", predictor: "Predictor") -> np.ndarray:
    """Membrane probability float32 ``(*spatial)`` in [0, 1] from the maps ``predictor``
    returned (see :func:`boundary_source` for which map)."""
    head, kind = boundary_source(predictor)
    array = np.asarray(maps[head] if isinstance(maps, Mapping) else maps)
    boundary = array[0] if kind == "map" else 1.0 - array[-1]
    return np.clip(boundary, 0.0, 1.0).astype(np.float32, copy=False)


def predict_boundary(predictor: "Predictor", image: np.ndarray, *,
                     intensity_range: tuple[float, float] | None = None, progress: bool = False,
                     **predict_options: Any) -> np.ndarray:
    """Membrane probability ``(Y, X)`` / ``(Z, Y, X)`` of a grey EM image or stack (a 2D model
    predicts a stack slice by slice). ``predict_options`` go to
    :meth:`~microseg.infer.Predictor.predict` (``tta``, ``tile``, ``diameter``, …)."""
    boundary_source(predictor)
    maps = predictor.predict(em_grey(image), intensity_range=intensity_range, progress=progress,
                             **predict_options)
    return boundary_map(maps, predictor)


# --- edge classifiers ----------------------------------------------------------------------------

def load_edge_classifier(source: "str | Path | EdgeClassifier | None",
                         pipeline: str) -> EdgeClassifier | None:
    """The classifier of an EM pipeline: a file written by :meth:`EdgeClassifier.save` (loaded),
    an :class:`EdgeClassifier` (as is) or None (cut probabilities from the mean boundary value of
    each face). ``em-lmc`` needs a classifier with a lifted-edge forest."""
    em_method(pipeline)
    if source is None or isinstance(source, EdgeClassifier):
        classifier = source
    elif isinstance(source, (str, Path)):
        classifier = EdgeClassifier.load(source)
    else:
        raise ConfigError(f"edge_classifier must be a file path or an EdgeClassifier, got "
                          f"{type(source).__name__}")
    if pipeline == "em-lmc" and classifier is not None and classifier.lifted_forest is None:
        where = f"{source}: " if isinstance(source, (str, Path)) else ""
        raise ConfigError(f"{where}this edge classifier has no lifted-edge forest (trained with "
                          f"--no-lifted); use --pipeline em-mc or retrain it")
    return classifier


def check_em_options(pipeline: str, *, post: str | None = None,
                     post_params: dict[str, Any] | None = None,
                     channel_axis: int | None = None) -> None:
    """Raise :class:`ConfigError` for settings an EM pipeline cannot honour: it makes instances
    with the graph, not with a post-processing method, and takes grey images."""
    em_method(pipeline)
    if post is not None or post_params:
        raise ConfigError(f"pipeline {pipeline!r} segments with the region graph; post-processing "
                          f"settings do not apply (drop --post)")
    if channel_axis is not None:
        raise ConfigError(f"pipeline {pipeline!r} takes grey EM images; a channel axis does not "
                          f"apply")


def segment_em_image(image: np.ndarray, predictor: "Predictor",
                     classifier: EdgeClassifier | None, pipeline: str, *,
                     intensity_range: tuple[float, float] | None = None,
                     progress: bool = False, **predict_options: Any) -> np.ndarray:
    """Neuron labels of an EM image ``(Y, X)`` or stack ``(Z, Y, X)`` (uint16/uint32, ids
    1..N): boundary map from ``predictor``, raw image by :func:`em_raw`, then
    :func:`segment_em` with the method of ``pipeline`` (``em-mc``: multicut; ``em-lmc``: lifted
    multicut) and the classifier's graph configuration."""
    method = em_method(pipeline)
    grey = em_grey(image)
    boundary = predict_boundary(predictor, grey, intensity_range=intensity_range,
                                progress=progress, **predict_options)
    uses_raw = classifier is not None and classifier.config.get("uses_raw", True)
    return segment_em(boundary, em_raw(grey) if uses_raw else None, classifier,
                      method=method)


# --- training ------------------------------------------------------------------------------------

def graph_config(config: "EMGraphConfig | Mapping[str, Any] | str | Path | None" = None,
                 lifted_distance: int | None = None) -> EMGraphConfig:
    """An :class:`EMGraphConfig` from a config, a dict or a YAML file (None: the defaults), with
    ``lifted_distance`` (graph steps of the lifted edges) overriding the file's."""
    if isinstance(config, (str, Path)):
        config = load_yaml(config)
    if config is None or isinstance(config, Mapping):
        config = from_dict(EMGraphConfig, dict(config or {}), where="edge classifier")
    if not isinstance(config, EMGraphConfig):
        raise ConfigError(f"graph configuration must be an EMGraphConfig, dict or YAML path, got "
                          f"{type(config).__name__}")
    if lifted_distance is not None:
        config = replace(config, graph=replace(config.graph, lifted_distance=int(lifted_distance)))
    return config


def training_instances(labels: np.ndarray, path: str | Path | None = None) -> np.ndarray:
    """GT instances ``(Z, Y, X)`` from a training label stack.

    Membrane labels — a boolean stack, or uint8 holding no values but 0 and 255 (ISBI 2012:
    255 = cell interior, 0 = membrane) — become the 4-connected components of the interior of
    each section (:func:`~microseg.io.isbi.membrane_to_instances`). Any other integer stack is
    taken as instance labels (0 = membrane / unlabelled, ignored in training); a uint8 instance
    stack whose only ids are 0 and 255 would read as membrane labels, so relabel it first.
    """
    from microseg.io.images import as_labels
    from microseg.io.isbi import membrane_to_instances

    labels = np.asarray(labels)
    if labels.dtype == bool or (labels.dtype == np.uint8 and np.isin(labels, (0, 255)).all()):
        return membrane_to_instances(labels)
    return as_labels(labels, path)


def slice_range(slices: "str | slice | tuple[int, int] | None", depth: int,
                path: str | Path | None = None) -> slice:
    """Sections ``A:B`` (``"A:B"``, ``(A, B)`` or a step-less ``slice``; either end may be left
    out) of a stack of ``depth`` sections, checked to select at least one existing section."""
    if slices is None:
        return slice(0, depth)
    if isinstance(slices, str):
        start, sep, stop = slices.partition(":")
        try:
            bounds = [int(v) if v.strip() else None for v in (start, stop)]
        except ValueError:
            bounds = []
        if not sep or len(bounds) != 2:
            raise ConfigError(f"slices must read A:B (e.g. 0:15), got {slices!r}")
        slices = slice(*bounds)
    elif isinstance(slices, tuple):
        slices = slice(*slices)
    if not isinstance(slices, slice) or slices.step not in (None, 1):
        raise ConfigError(f"slices must be A:B, (A, B) or a slice without step, got {slices!r}")
    start = 0 if slices.start is None else int(slices.start)
    stop = depth if slices.stop is None else int(slices.stop)
    if not 0 <= start < stop <= depth:
        raise InputError(path, f"slices {start}:{stop} do not select sections of this stack of "
                               f"{depth} (give 0 <= A < B <= {depth})")
    return slice(start, stop)


def _stack(source: "np.ndarray | str | Path") -> tuple[np.ndarray, Path | None]:
    from microseg.io.isbi import read_em_stack

    if isinstance(source, (str, Path)):
        return read_em_stack(source), Path(source)
    stack = np.asarray(source)
    return (stack[None] if stack.ndim == 2 else stack), None


def train_edges(images: "np.ndarray | str | Path", labels: "np.ndarray | str | Path", model: Any,
                out_path: str | Path,
                config: "EMGraphConfig | Mapping[str, Any] | str | Path | None" = None, *,
                slices: "str | slice | tuple[int, int] | None" = None, lifted: bool = True,
                overwrite: bool = False, progress: bool = True,
                **predictor_options: Any) -> EdgeClassifier:
    """Fit the edge random forests of the EM pipelines and save them to ``out_path`` (.npz,
    atomically).

    Args:
        images: EM stack ``(Z, Y, X)`` (or ``(Y, X)``), a multi-page TIFF or a folder of slices
            (:func:`~microseg.io.isbi.read_em_stack`).
        labels: the matching labels, same forms: ISBI membrane labels or instance labels (see
            :func:`training_instances`).
        model: boundary network: checkpoint path, Predictor, module or bundled name
            (:func:`microseg.pipelines.model.load_model`, which gets ``predictor_options``).
        out_path: classifier file to write; an existing file is an :class:`InputError` unless
            ``overwrite``.
        config: :class:`EMGraphConfig`, dict or YAML path (default: the defaults); stored in the
            classifier and used again when it segments.
        slices: the sections to train on, ``"A:B"`` (default: all).
        lifted: also train the lifted-edge forest (needed by ``em-lmc``).
    Returns:
        The trained :class:`EdgeClassifier`.
    """
    from tqdm import tqdm

    out_path = Path(out_path)
    check_classifier_path(out_path)
    if out_path.exists() and not overwrite:
        raise InputError(out_path, "edge classifier file exists (use --overwrite to replace it)")
    config = graph_config(config)
    predictor = load_model(model, **predictor_options)
    boundary_source(predictor)
    stack, image_path = _stack(images)
    truth, label_path = _stack(labels)
    stack = em_grey(stack, image_path)
    if truth.shape != stack.shape:
        raise InputError(label_path, f"label stack {truth.shape} and image stack {stack.shape} "
                                     f"differ in shape")
    span = None
    if predictor.normalization.method == "sequence":     # as the model saw its training stack
        span = intensity_range([stack])
    chosen = slice_range(slices, len(stack), image_path)
    stack, truth = stack[chosen], training_instances(truth[chosen], label_path)
    with tqdm(total=3, desc="train-edges", unit="step", disable=not progress) as bar:
        bar.set_postfix_str("boundary maps")
        boundary = predict_boundary(predictor, stack, intensity_range=span, progress=progress)
        bar.update()
        bar.set_postfix_str("random forests")
        classifier = train_edge_classifier(boundary, em_raw(stack), truth, config, lifted=lifted)
        bar.update()
        bar.set_postfix_str("save")
        classifier.save(out_path)
        bar.update()
    return classifier
