"""What the napari widgets do, as plain functions of layer data (numpy arrays and names): no Qt,
no viewer, so every step is tested without a display.

Layer data follow napari's conventions: an image layer's ``data`` is ``(Y, X)``, ``(Y, X, RGB)``
(``rgb``) or has more leading axes; points are ``(N, 2)`` ``(y, x)``; a rectangle of a shapes
layer is its 4 corners ``(4, 2)``. Reading and writing files are :mod:`microseg.napari.io`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from microseg.errors import ConfigError, InputError

if TYPE_CHECKING:
    from microseg.annotate import Prompter

#: The Segment widget's choice that keeps the model's own post-processing.
MODEL_POST = "model's"
#: Names of the layers the widgets add, after the image's name.
LABELS_SUFFIX = " labels"
ANNOTATIONS_SUFFIX = " annotations"


def parse_post_params(text: str) -> dict[str, Any] | None:
    """``"min_size=20, seed_threshold=0.6"`` (as ``--post-param`` takes them, comma-separated)
    → ``{"min_size": 20, "seed_threshold": 0.6}``; empty text → None.

    >>> parse_post_params("min_size=20, grow=false")
    {'min_size': 20, 'grow': False}
    """
    from microseg.config import parse_assignment

    items = [item.strip() for item in text.split(",") if item.strip()]
    return dict(parse_assignment(item) for item in items) or None


def segment_layer(image: np.ndarray, model: Any = "default", *, diameter: float | str | None = None,
                  tta: str = "none", post: str = MODEL_POST, post_params: str = "",
                  channel_axis: int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Segment an image layer's data (:func:`microseg.segment`) → ``(labels, features)``: the
    measurements of every object (:func:`microseg.measure.measure` on the image) as napari
    label-layer features, column ``index`` holding the label of each row. ``diameter``: pixels,
    ``"auto"``, or None (the model's default); ``post``: a post-processing name or
    :data:`MODEL_POST`; ``post_params``: text for :func:`parse_post_params`."""
    from microseg.pipelines.cells import channels_first, segment

    image = np.asarray(image)
    labels = segment(image, model, diameter=diameter, tta=tta,
                     post=None if post == MODEL_POST else post,
                     post_params=parse_post_params(post_params), channel_axis=channel_axis)
    return labels, label_features(labels, channels_first(image, labels.ndim, channel_axis))


def label_features(labels: np.ndarray, image: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """:func:`~microseg.measure.measure` of ``labels`` as napari features: ``label`` renamed
    ``index``."""
    from microseg.measure import measure

    table = measure(labels, image)
    return {("index" if key == "label" else key): values for key, values in table.items()}


def evaluate_layers(prediction: np.ndarray, truth: np.ndarray, name: str = "prediction",
                    iou: float = 0.5) -> str:
    """The scores of a predicted labels layer against a ground-truth one
    (:func:`microseg.metrics.evaluate_arrays`: object counts, matches at ``iou``, SEG,
    precision, recall, F1, AP, pixel IoU, Dice) as text for a narrow dock: a title line, then
    one ``name value`` line per score.

    >>> truth = np.zeros((8, 8), np.uint16); truth[1:4, 1:4], truth[5:8, 5:8] = 1, 2
    >>> print(evaluate_layers(truth * (truth == 1), truth).splitlines()[8])
    recall     0.5000
    """
    from microseg.metrics import evaluate_arrays

    report = evaluate_arrays([(name, np.asarray(truth), np.asarray(prediction))], iou=iou)
    keys = ["n_true", "n_pred", "tp", "fp", "fn", *report.columns()]
    width = max(map(len, keys))
    return "\n".join([f"{name} (matches at IoU {iou:g})"] + [
        f"{key.ljust(width)}  {_number(report.overall[key])}" for key in keys])


def _number(value: Any) -> str:
    """A score as text: integers as they are, fractions with 4 decimals."""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def evaluation_pair(names: Sequence[str]) -> tuple[str, str] | None:
    """The labels layers the Evaluate widget proposes, ``(prediction, ground truth)``, among
    ``names`` (the viewer's labels layers, oldest first): as ground truth the first whose name
    has the word ``gt`` or ``truth`` (``cells_gt``, ``ground truth``), else the oldest; as
    prediction the newest other one (the widgets add their layers last). None with fewer than
    two layers.

    >>> evaluation_pair(["cells labels", "cells_GT", "cells annotations"])
    ('cells annotations', 'cells_GT')
    """
    import re

    if len(names) < 2:
        return None
    truths = [name for name in names
              if re.search(r"(?<![a-z0-9])(gt|truth)(?![a-z0-9])", name.lower())]
    truth = truths[0] if truths else names[0]
    return [name for name in names if name != truth][-1], truth


def boxes_from_shapes(shapes: Sequence[np.ndarray]) -> list[tuple[float, float, float, float]]:
    """Boxes ``(y0, x0, y1, x1)`` of a shapes layer's shapes (their corners' extent in the last
    two axes; a shape with other axes uses its last two)."""
    boxes = []
    for shape in shapes:
        corners = np.asarray(shape, dtype=np.float64)[:, -2:]
        (y0, x0), (y1, x1) = corners.min(axis=0), corners.max(axis=0)
        boxes.append((y0, x0, y1, x1))
    return boxes


def commit_prompts(prompter: "Prompter", labels: np.ndarray, positive: np.ndarray | None = None,
                   negative: np.ndarray | None = None,
                   boxes: Sequence[tuple[float, float, float, float]] = ()) -> tuple[np.ndarray,
                                                                                     list[int]]:
    """Objects from prompts (each positive point one object, each box one object, via
    ``prompter``: :class:`~microseg.annotate.PromptAnnotator` or
    :class:`~microseg.annotate.SamAnnotator`) added to ``labels`` as new ids
    (:func:`~microseg.annotate.add_object`; pixels of objects already there are kept) →
    ``(labels, new ids)``."""
    from microseg.annotate import add_object

    positive = np.zeros((0, 2)) if positive is None else np.asarray(positive)[:, -2:]
    negative = np.zeros((0, 2)) if negative is None else np.asarray(negative)[:, -2:]
    masks = []
    if len(positive):
        prompted = prompter.points(positive, negative)
        masks += [prompted == k for k in range(1, len(positive) + 1)]
    masks += [prompter.box(box) for box in boxes]
    added = []
    for mask in masks:
        labels, new = add_object(labels, mask)
        if new:
            added.append(new)
    return labels, added


def make_prompter(image: np.ndarray, backend: str, model: Any = "default",
                  sam_checkpoint: str | Path | None = None, sam_type: str = "vit_b",
                  rgb: bool = False) -> "Prompter":
    """The annotation backend for an image layer: ``"microseg"``
    (:class:`~microseg.annotate.PromptAnnotator` with ``model``) or ``"sam"``
    (:class:`~microseg.annotate.SamAnnotator` with the user's ``sam_checkpoint``)."""
    from microseg.annotate import PromptAnnotator, SamAnnotator

    image = np.asarray(image)
    if image.ndim != (3 if rgb else 2):
        raise InputError(None, f"annotation works on 2D images, this layer is {image.shape}")
    if backend == "microseg":
        return PromptAnnotator(image, model)
    if backend == "sam":
        if not sam_checkpoint:
            raise ConfigError("the SAM backend needs a checkpoint file (SAM weights you "
                              "downloaded yourself; microseg downloads nothing)")
        return SamAnnotator(image, str(sam_checkpoint), sam_type)
    raise ConfigError(f"backend {backend!r}: choose microseg or sam")


def pair_layers(images: Sequence[str], labels: Sequence[str]) -> list[tuple[str, str]]:
    """Pair each labels layer name with the image layer whose name it starts with (the longest
    such; the widgets name their layers ``<image> labels`` and ``<image> annotations``) →
    ``[(image, labels)]``; :class:`ConfigError` naming a labels layer without its image."""
    pairs = []
    for name in labels:
        owners = [image for image in images if name.startswith(image)]
        if not owners:
            raise ConfigError(f"labels layer {name!r} has no image layer whose name it starts "
                              f"with (name it '<image name> labels')")
        pairs.append((max(owners, key=len), name))
    return pairs


def finetune_layers(pairs: Sequence[tuple[str, np.ndarray, np.ndarray]], folder: str | Path,
                    **options: Any) -> Any:
    """:func:`~microseg.pipelines.finetune.finetune` on layer data: ``(name, image, labels)``
    triples written as ``FOLDER/images/<name>.tif`` and ``FOLDER/labels/<name>.tif``, the run
    in ``FOLDER/run``; ``options`` go to ``finetune`` (``init``, ``minutes``, ``iterations``,
    ``name``, …)."""
    from microseg.io.images import write_image, write_labels
    from microseg.pipelines.finetune import finetune

    folder = Path(folder).expanduser()
    for name, image, labels in pairs:
        stem = _file_stem(name)
        write_image(folder / "images" / f"{stem}.tif", np.asarray(image))
        write_labels(folder / "labels" / f"{stem}.tif", np.asarray(labels))
    return finetune(folder / "images", folder / "labels", out=folder / "run", **options)


def _file_stem(name: str) -> str:
    """A layer name as a file stem: characters other than letters, digits, ``.``, ``_`` and
    ``-`` replaced by ``_``."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "layer"
