"""Whole-image validation: network output → instances → object and pixel scores per dataset.

Each validation image goes through the model at full size (models pad internally). The output
becomes instances with the configured post-processing and is scored against the ground truth
with :mod:`microseg.metrics`: F1 at one IoU (TP, FP, FN summed over the dataset's images), mean
AP over IoU 0.5:0.95, CTC SEG and foreground pixel IoU. With several datasets the scores are also
averaged over datasets (XB-Net selects on the mean over its validation sets).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from microseg.data.datasets import target_and_weight
from microseg.data.sample import Sample
from microseg.errors import ConfigError
from microseg.losses import apply_loss
from microseg.metrics import evaluate_arrays
from microseg.post.registry import postprocess
from microseg.train.config import PostConfig, ValidationConfig

SCORES = ("f1", "precision", "recall", "ap", "seg", "iou", "loss")


@dataclass
class Output:
    """One image's network output: ``(C, *spatial)`` logits, or a dict of them per head."""

    value: Tensor | dict[str, Tensor]

    def head(self, name: str | None) -> Tensor:
        if not isinstance(self.value, dict):
            return self.value
        if name is None:
            return next(iter(self.value.values()))
        if name not in self.value:
            raise ConfigError(
                f"validation post head {name!r} is not a model output {sorted(self.value)}")
        return self.value[name]


def predict(model: nn.Module, image: np.ndarray, channels_last: bool = False) -> Output:
    """Run ``model`` on one ``(C, *spatial)`` image → :class:`Output` without the batch axis."""
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
    if channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        y = model(x)
    if isinstance(y, dict):
        return Output({k: v[0].float() for k, v in y.items()})
    return Output(y[0].float())


def to_instances(output: Tensor, kind: str, post: PostConfig) -> np.ndarray:
    """Instances of one image from its ``(C, *spatial)`` logits.

    The logits are activated as the predictor does (softmax for class targets, sigmoid for map
    targets) and handed to the named method of :mod:`microseg.post.registry` with
    ``post.params``. ``auto`` picks ``three_class`` for a 3-class output, else ``components``
    (connected components of the last class, or of the one map above ``threshold``).
    """
    channels = int(output.shape[0])
    name = post.name
    if name == "auto":
        name = "three_class" if kind == "classes" and channels == 3 else "components"
    activated = torch.softmax(output, dim=0) if kind == "classes" else torch.sigmoid(output)
    return postprocess(name, activated.numpy(), **post.params)


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


def instances_of(logits: Tensor, sample: Sample, kind: str, post: PostConfig) -> np.ndarray:
    """Instances of one sample from its output, objects on ignored pixels dropped."""
    return drop_ignored(to_instances(logits, kind, post), sample.ignore)


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


def score_dataset(
    name: str,
    model: nn.Module,
    samples: Sequence[Sample],
    kind: str,
    config: ValidationConfig,
    loss_of: "LossOf | None" = None,
    channels_last: bool = False,
) -> DatasetScores:
    """Predict, post-process and score every sample of one dataset."""
    preds, losses = [], []
    for sample in samples:
        output = predict(model, sample.image, channels_last)
        preds.append(instances_of(output.head(config.post.head), sample, kind, config.post))
        if loss_of is not None:
            losses.append(loss_of(output, sample))
    return score_instances(name, samples, preds, config.iou, losses)


@dataclass
class PostTuning:
    """Result of :func:`tune_post`: the chosen post-processing, its scores and every candidate's."""

    post: PostConfig
    metrics: dict[str, float]
    table: list[dict[str, Any]]


def tune_post(model: nn.Module, datasets: Sequence[tuple[str, Sequence[Sample]]], kind: str,
              config: ValidationConfig, channels_last: bool = False) -> PostTuning:
    """Grid search of post-processing parameters on the validation data.

    Each image is predicted once; every combination of ``config.tune`` values (added to
    ``config.post.params``) is post-processed and scored, and the one best on
    ``config.metric`` (mean over the datasets of ``config.select``) wins; ties keep the earlier
    candidate.
    """
    if not config.tune:
        raise ConfigError("validation.tune lists no parameter values to try")
    logits = {name: [predict(model, s.image, channels_last).head(config.post.head) for s in samples]
              for name, samples in datasets}
    keys = list(config.tune)
    candidates, table = [], []
    for values in itertools.product(*(config.tune[k] for k in keys)):
        candidate = dict(zip(keys, values))
        post = PostConfig(config.post.name, {**config.post.params, **candidate}, config.post.head)
        results = []
        for name, samples in datasets:
            preds = [instances_of(x, s, kind, post) for x, s in zip(logits[name], samples)]
            results.append(score_instances(name, samples, preds, config.iou))
        metrics = summarize(results, config.select)
        candidates.append((post, metrics))
        table.append({**candidate, **{k: metrics[k] for k in SCORES if k != "loss"}})
    scores = np.array([m[config.metric] for _, m in candidates], dtype=float)
    chosen = int(np.nanargmax(scores)) if not np.isnan(scores).all() else 0
    return PostTuning(candidates[chosen][0], candidates[chosen][1], table)


def _batched(value: Any) -> Any:
    """Add a batch axis to an array / tensor or to each entry of a dict of them."""
    if isinstance(value, dict):
        return {k: _batched(v) for k, v in value.items()}
    return torch.as_tensor(np.ascontiguousarray(value))[None]


class LossOf:
    """Validation loss of one whole image: ``loss(output, target(labels), weight)`` with the
    sample's ignored pixels weighted 0."""

    def __init__(self, loss: nn.Module, target: Any):
        self.loss = loss
        self.target = target

    def __call__(self, output: Output, sample: Sample) -> float:
        target, weight = target_and_weight(self.target, sample.labels, sample.ignore)
        with torch.inference_mode():
            value = apply_loss(self.loss, _batched(output.value), _batched(target),
                               _batched(weight))
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
