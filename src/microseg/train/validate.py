"""Whole-image validation: the model as deployed → instances → object and pixel scores.

Validation, tuning and deployment run a model the same way: a
:class:`~microseg.infer.Predictor` built from the model and its checkpoint meta computes the maps
(the activations of :mod:`microseg.infer.activation`), and the post-processing is the one
deployment would read from a checkpoint recording the validation's ``post``
(:func:`microseg.post.registry.default_post`). Validation images are already normalised and at
the model's scale (the data sources prepare them as the predictor prepares an image), so they
enter the predictor as prepared input (:meth:`~microseg.infer.Predictor.predict_array`).

The instances are scored against the ground truth with :mod:`microseg.metrics`: F1 at one IoU
(TP, FP, FN summed over the dataset's images), mean AP over IoU 0.5:0.95, CTC SEG and foreground
pixel IoU. With several datasets the scores are also averaged over datasets (XB-Net selects on
the mean over its validation sets).
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from microseg.config import from_dict, to_dict
from microseg.data.datasets import target_and_weight
from microseg.data.sample import Sample
from microseg.errors import ConfigError
from microseg.infer.predictor import Maps, Predictor
from microseg.losses import apply_loss
from microseg.metrics import evaluate_arrays
from microseg.post.registry import default_post, postprocess, resolve_post
from microseg.targets import ContactWeight
from microseg.train.config import PostConfig, ValidationConfig
from microseg.train.step import to_device

SCORES = ("f1", "precision", "recall", "ap", "seg", "iou", "loss")


def predict_maps(predictor: Predictor, sample: Sample) -> Maps:
    """Maps of one sample as deployment computes them: float32 ``(K, *spatial)``, or a dict
    head → ``(K_h, *spatial)``, from the sample's prepared image ``(C, *spatial)``."""
    return predictor.split_heads(predictor.predict_array(sample.image))


def resolved_post(post: PostConfig, predictor: Predictor) -> PostConfig:
    """``post`` with ``auto`` replaced by the method deployment picks for the predictor's model
    (:func:`~microseg.post.registry.resolve_post`)."""
    record = resolve_post(to_dict(post), predictor.meta.target or {},
                          [h for h, _ in predictor.heads])
    return from_dict(PostConfig, record, where="post")


def to_instances(maps: Maps, predictor: Predictor, post: PostConfig,
                 bright_background: bool = False) -> np.ndarray:
    """Instances ``(*spatial)`` of one image's maps, post-processed as deployment post-processes
    them for a checkpoint of the predictor's model that records ``post`` (``bright_background``:
    the normalisation inverted the image's bright background)."""
    meta = dataclasses.replace(predictor.meta, post=to_dict(post))
    name, params = default_post(meta, [h for h, _ in predictor.heads], bright_background)
    return postprocess(name, maps, **params)


def drop_ignored(pred: np.ndarray, ignore: np.ndarray | None) -> np.ndarray:
    """Remove predicted objects lying mostly (> 50 %) on ignored pixels (unannotated cells of
    sparse ground truth), so they count neither as true nor as false positives."""
    if ignore is None or not ignore.any() or pred.max() == 0:
        return pred
    size = np.bincount(pred.ravel())
    inside = np.bincount(pred[ignore].ravel(), minlength=size.size)
    mostly = 2 * inside > size
    mostly[0] = False
    return np.where(mostly[pred], 0, pred)


@dataclass
class DatasetScores:
    """Scores of one validation dataset (see :data:`SCORES`)."""

    name: str
    values: dict[str, float]


def instances_of(maps: Maps, sample: Sample, predictor: Predictor,
                 post: PostConfig) -> np.ndarray:
    """Instances of one sample from its maps (:func:`to_instances`), objects on ignored pixels
    dropped."""
    bright = bool(sample.meta.get("bright_background", False))
    return drop_ignored(to_instances(maps, predictor, post, bright), sample.ignore)


def score_instances(name: str, samples: Sequence[Sample], preds: Sequence[np.ndarray], iou: float,
                    losses: Sequence[float] = ()) -> DatasetScores:
    """Score predicted instances against the samples' labels (ignored pixels set to background)
    with :func:`microseg.metrics.evaluate_arrays` (counts summed over the images)."""
    pairs = []
    for sample, pred in zip(samples, preds):
        gt = sample.labels
        if sample.ignore is not None:
            gt = np.where(sample.ignore, 0, gt).astype(gt.dtype)
        pairs.append((sample.name, gt, pred))
    overall = evaluate_arrays(pairs, ("seg", "f1", "ap", "iou"), iou=iou).overall
    values = {
        "f1": overall["f1"],
        "precision": overall["precision"],
        "recall": overall["recall"],
        "ap": overall["map"],
        "seg": overall["seg"],
        "iou": overall["pixel_iou"],
        "loss": float(np.mean(losses)) if len(losses) else float("nan"),
    }
    return DatasetScores(name, values)


def score_dataset(name: str, predictor: Predictor, samples: Sequence[Sample],
                  config: ValidationConfig, loss_of: "LossOf | None" = None) -> DatasetScores:
    """Predict, post-process (``config.post``) and score every sample of one dataset; with
    ``loss_of``, the validation loss too."""
    post = resolved_post(config.post, predictor)
    preds = [instances_of(predict_maps(predictor, s), s, predictor, post) for s in samples]
    losses = [loss_of(s) for s in samples] if loss_of is not None else []
    return score_instances(name, samples, preds, config.iou, losses)


@dataclass
class PostTuning:
    """Result of :func:`tune_post`: the chosen post-processing, its scores and every candidate's."""

    post: PostConfig
    metrics: dict[str, float]
    table: list[dict[str, Any]]


def tune_post(predictor: Predictor, datasets: Sequence[tuple[str, Sequence[Sample]]],
              config: ValidationConfig, progress: bool = False) -> PostTuning:
    """Grid search of post-processing parameters on the validation data (``progress``: bars
    over the images and the candidates).

    ``config.post`` is first resolved as deployment resolves it (``auto`` becomes the method
    deployment would run, :func:`resolved_post`), so the chosen post names that method. Each
    image is predicted once; every combination of ``config.tune`` values (added to
    ``config.post.params``) is post-processed and scored, and the one best on
    ``config.metric`` (mean over the datasets of ``config.select``) wins; ties keep the earlier
    candidate. Then every combination of ``config.tune_bright_background`` is tried as
    ``post.bright_background`` on the images whose bright background was inverted (the others
    keep their instances), after the first candidate, no change, which wins ties; these table
    rows name the parameters ``bright_background.<key>``.
    """
    if not config.tune and not config.tune_bright_background:
        raise ConfigError("validation.tune and validation.tune_bright_background list no "
                          "parameter values to try")
    bar = tqdm(total=sum(len(s) for _, s in datasets), desc="predict", unit="image",
               disable=not progress, leave=False)
    maps: dict[str, list[Maps]] = {}
    for name, samples in datasets:
        maps[name] = []
        for sample in samples:
            maps[name].append(predict_maps(predictor, sample))
            bar.update()
    bar.close()
    base = resolved_post(config.post, predictor)
    combos = _combinations(config.tune or {})
    tuning, kept = _best(config, datasets, [
        (PostConfig(base.name, {**base.params, **c}, base.head, base.bright_background), c)
        for c in combos], lambda post: _instances(datasets, maps, predictor, post),
        progress=progress)
    if not config.tune_bright_background:
        return tuning
    base = tuning.post
    keys = list(config.tune_bright_background)
    unchanged = {k: base.params_for(True).get(k) for k in keys}
    candidates = [(base, unchanged)] + [
        (PostConfig(base.name, base.params, base.head, {**base.bright_background, **c}), c)
        for c in _combinations(config.tune_bright_background)]

    def overridden(post: PostConfig) -> dict[str, list[np.ndarray]]:
        if post is base:
            return kept
        changed = _instances(datasets, maps, predictor, post, only_bright=True)
        return {name: [new if new is not None else old for old, new in zip(kept[name], preds)]
                for name, preds in changed.items()}

    overrides, _ = _best(config, datasets, candidates, overridden, prefix="bright_background.",
                         progress=progress)
    return PostTuning(overrides.post, overrides.metrics, tuning.table + overrides.table)


def _combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the last key varying fastest."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def _instances(datasets: Sequence[tuple[str, Sequence[Sample]]], maps: dict[str, list[Maps]],
               predictor: Predictor, post: PostConfig,
               only_bright: bool = False) -> dict[str, list[Any]]:
    """Instances of every validation image under ``post``, per dataset (None for the images
    without an inverted bright background when ``only_bright``)."""
    return {name: [instances_of(m, s, predictor, post)
                   if not only_bright or s.meta.get("bright_background") else None
                   for m, s in zip(maps[name], samples)]
            for name, samples in datasets}


def _best(config: ValidationConfig, datasets: Sequence[tuple[str, Sequence[Sample]]],
          candidates: Sequence[tuple[PostConfig, dict[str, Any]]],
          instances: Callable[[PostConfig], dict[str, list[np.ndarray]]], prefix: str = "",
          progress: bool = False) -> tuple[PostTuning, dict[str, list[np.ndarray]]]:
    """Score each ``(post, row)`` candidate on ``instances(post)`` and keep the best on
    ``config.metric`` (ties: the earlier) → its :class:`PostTuning` (table rows: ``row`` with
    keys prefixed, and the scores) and its instances per dataset."""
    table, chosen = [], None
    for post, row in tqdm(candidates, desc=f"tune {prefix or 'post'}".rstrip("."),
                          unit="candidate", disable=not progress, leave=False):
        preds = instances(post)
        metrics = summarize([score_instances(name, samples, preds[name], config.iou)
                             for name, samples in datasets], config.select)
        table.append({**{prefix + k: v for k, v in row.items()},
                      **{k: metrics[k] for k in SCORES if k != "loss"}})
        value = metrics[config.metric]
        if chosen is None or (not np.isnan(value) and (np.isnan(chosen[0]) or value > chosen[0])):
            chosen = (value, post, metrics, preds)
    _, post, metrics, preds = chosen
    return PostTuning(post, metrics, table), preds


def _batched(value: Any) -> Any:
    """Add a batch axis to an array / tensor or to each entry of a dict of them."""
    if isinstance(value, dict):
        return {k: _batched(v) for k, v in value.items()}
    return torch.as_tensor(np.ascontiguousarray(value))[None]


class LossOf:
    """Validation loss of one whole image: ``loss(model(image), target(labels), weight)`` on the
    raw output, as in training, with the sample's ignored pixels weighted 0 (and the training's
    ``contact`` weighting, if any); ``channels_last``: the training's memory layout; ``device``:
    where the model is (the image and target are moved there)."""

    def __init__(self, model: nn.Module, loss: nn.Module, target: Any,
                 contact: ContactWeight | None = None, channels_last: bool = False,
                 device: torch.device | None = None):
        self.model = model
        self.device = device
        self.loss = loss
        self.target = target
        self.contact = contact
        self.channels_last = channels_last

    def __call__(self, sample: Sample) -> float:
        target, weight = target_and_weight(self.target, sample.labels, sample.ignore,
                                           self.contact)
        x, target, weight = _batched(sample.image), _batched(target), _batched(weight)
        if self.device is not None:
            x, target, weight = (to_device(v, self.device) for v in (x, target, weight))
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            value = apply_loss(self.loss, self.model(x), target, weight)
        return float(value)


def summarize(results: Sequence[DatasetScores],
              select: Sequence[str] | None = None) -> dict[str, float]:
    """Mean of each score over datasets (NaNs skipped; over the datasets named in ``select``
    only, when given), plus ``<dataset>/<score>`` entries for every dataset when there is more
    than one."""
    summary: dict[str, float] = {}
    chosen = [r for r in results if select is None or r.name in select]
    for score in SCORES:
        values = np.array([r.values[score] for r in chosen], dtype=float)
        finite = values[~np.isnan(values)]
        summary[score] = float(finite.mean()) if finite.size else float("nan")
    if len(results) > 1:
        for r in results:
            for score in ("f1", "ap", "seg", "iou"):
                summary[f"{r.name}/{score}"] = r.values[score]
    return summary
