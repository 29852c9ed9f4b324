"""The training loop: data → batch streams → optimiser steps → validation → checkpoints.

``train(config)`` runs a whole :class:`~microseg.train.config.TrainConfig`; ``resume=`` continues
a run from its ``last.pt`` at the same iteration with the same optimiser, schedule, data-stream
and random states, so N iterations straight and N/2 + resume + N/2 give identical weights.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from microseg import losses, models, zoo
from microseg.augment import Augmenter
from microseg.config import to_dict
from microseg.data.datasets import TrainingDataset
from microseg.data.rescale import diameter_range, median_diameter
from microseg.data.sample import Sample
from microseg.data.sample import summarize as summarize_samples
from microseg.data.sources import load_source, source_name, source_normalization
from microseg.errors import ConfigError, InputError
from microseg.infer.device import resolve_device
from microseg.infer.predictor import Predictor
from microseg.models.checkpoint import load_checkpoint, plain_data, save_checkpoint
from microseg.models.meta import ModelMeta
from microseg.models.widen import widened_state
from microseg.train.batches import BatchStream, stream_seed
from microseg.train.config import (RESUME_MAY_CHANGE, TrainConfig, model_params, resume_changes,
                                   train_config)
from microseg.train.log import CsvLog
from microseg.train.schedule import LRSchedule
from microseg.train.schemes import Scheme, draws_per_step
from microseg.train.step import optimiser_step
from microseg.train.targets import build_target, describe, output_channels
from microseg.train.validate import LossOf, PostTuning, score_dataset, summarize, tune_post

VALIDATION_COLUMNS = ("f1", "precision", "recall", "ap", "seg", "iou", "loss")


@dataclass
class Datasets:
    """Training samples per data source and validation samples per source that has them, in
    source order (``val_names`` names the validation sets)."""

    names: list[str]
    train: list[list[Sample]]
    val: list[list[Sample]] = field(default_factory=list)
    val_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.names) != len(self.train) or len(self.val_names) != len(self.val):
            raise ConfigError("datasets: one name per training and per validation set is needed")
        if not self.train or not all(self.train):
            raise ConfigError("datasets: every training set needs at least one sample")

    @property
    def channels(self) -> int:
        return self.train[0][0].channels


@dataclass
class TrainResult:
    """Where a run ended: output folder, checkpoints, iteration, best score, why it stopped,
    the validation history and the tuned post-processing parameters (if tuned)."""

    output: Path
    last: Path
    best: Path | None
    iteration: int
    total: int
    best_score: float | None
    stopped: str
    history: list[dict[str, float]] = field(default_factory=list)
    post_params: dict[str, Any] | None = None  # post-processing chosen by validation.tune


def load_datasets(config: TrainConfig) -> Datasets:
    """Read every source's training split and, when ``val_split`` is set, its validation split."""
    root = config.data.root
    names = [source_name(s, root) for s in config.data.sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"data: several sources are named {repeated}; give each a 'name'")
    train_sets = [load_source(s, config.train_split, root) for s in config.data.sources]
    val_names, val_sets = load_validation(config, names) if config.val_split is not None \
        else ([], [])
    channels = {s.channels for samples in train_sets for s in samples}
    if len(channels) != 1:
        raise ConfigError(f"training images have different channel counts {sorted(channels)}")
    return Datasets(names, train_sets, val_sets, val_names)


def load_validation(config: TrainConfig, names: list[str] | None = None
                    ) -> tuple[list[str], list[list[Sample]]]:
    """``(names, samples)`` of the validation split of every source that defines it (``names``:
    the sources' names, default :func:`source_name`); :class:`ConfigError` when none does."""
    root = config.data.root
    names = names or [source_name(s, root) for s in config.data.sources]
    chosen = [(name, source) for name, source in zip(names, config.data.sources)
              if config.val_split is not None and config.val_split in source.splits]
    if not chosen:
        raise ConfigError(f"no data source defines the validation split {config.val_split!r}")
    return [n for n, _ in chosen], [load_source(s, config.val_split, root) for _, s in chosen]


def capped(names: list[str], sets: list[list[Sample]], cap: int | None
           ) -> list[tuple[str, list[Sample]]]:
    """``(name, samples)`` per validation set, at most ``cap`` samples each."""
    return [(name, samples[:cap] if cap else samples) for name, samples in zip(names, sets)]


def store_tuning(path: Path, predictor: Predictor, tuning: PostTuning) -> Path:
    """Write the predictor's checkpoint (model and meta) to ``path`` (atomically) with the tuned
    post-processing as ``meta.post``, where deployment reads it
    (:func:`~microseg.post.registry.default_post`), the scores it reaches and the whole grid."""
    meta = predictor.meta
    scores = {k: v for k, v in tuning.metrics.items() if k != "loss"}
    return save_checkpoint(path, predictor.model, dataclasses.replace(
        meta, post=to_dict(tuning.post), metrics={**(meta.metrics or {}), **scores},
        post_tuning=tuning.table))


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    o = config.optimizer
    cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
    return cls(model.parameters(), lr=o.lr, betas=tuple(o.betas), eps=o.eps,
               weight_decay=o.weight_decay, amsgrad=o.amsgrad)


def _rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(), "python": random.getstate(),
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
                      "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)}}


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["gauss"]))


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class Trainer:
    """One training run; :func:`train` is the usual entry point."""

    def __init__(self, config: TrainConfig, out: Path, datasets: Datasets | None = None):
        self.config = config
        self.out = out
        torch.set_num_threads(config.threads or os.cpu_count() or 1)
        _seed_everything(config.seed)
        self.data = datasets if datasets is not None else load_datasets(config)
        unknown = sorted(set(config.validation.select or ()) - set(self.data.val_names))
        if unknown:
            raise ConfigError(f"validation.select names {unknown}, which are not validation "
                              f"datasets; they are {self.data.val_names}")
        self.target = build_target(config.target.name, config.target.params, config.target.heads)
        self.contact = config.target.contact()
        heads = output_channels(self.target)
        post_head = config.validation.post.head
        if post_head is not None and isinstance(heads, dict) and post_head not in heads:
            raise ConfigError(f"validation.post.head {post_head!r} is not one of the target "
                              f"heads {sorted(heads)}")
        self.model = models.build(config.model.name,
                                  **model_params(config, self.data.channels, self.target))
        if config.init is not None:
            self.initialise(config.init, config.init_layers, config.init_rename)
        self.device = resolve_device(config.device)
        self.model = self.model.to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.loss = losses.build(config.loss.name, **config.loss.params).to(self.device)
        self.optimizer = _optimizer(config, self.model)
        n_images = sum(len(s) for s in self.data.train)
        draws = draws_per_step(config.scheme.name, len(self.data.train))
        self.epoch_length = config.epoch_length(n_images, draws)
        self.total = config.total_iterations(self.epoch_length)
        self.scheme = Scheme(config.scheme, len(self.data.train), self.total, config.seed)
        self.schedule = LRSchedule(config.schedule, config.optimizer.lr, self.total,
                                   self.epoch_length)
        self.streams = self._streams()
        self.iteration = 0
        self.images_seen = 0
        self.best: float | None = None
        self.best_metrics: dict[str, float] = {}
        self.bad_validations = 0
        self.history: list[dict[str, float]] = []

    # --- data ----------------------------------------------------------------------------------
    def _streams(self) -> list[BatchStream]:
        augmenter = Augmenter(self.config.augment)
        if self.scheme.name == "mix":
            groups = [[s for samples in self.data.train for s in samples]]
        else:
            groups = self.data.train
        streams = []
        for k, samples in enumerate(groups):
            dataset = TrainingDataset(samples, augmenter, self.target, self.config.crop,
                                      seed=stream_seed(self.config.seed, k),
                                      contact=self.contact)
            streams.append(BatchStream(dataset, self.config.batch_size, self.config.seed, k))
        return streams

    # --- checkpoints ---------------------------------------------------------------------------
    @functools.cached_property
    def data_summary(self) -> dict[str, Any]:
        """Training / validation data summaries and the median object diameter (pixels, at the
        training scale) of the training labels; computed once."""
        train_samples = [s for samples in self.data.train for s in samples]
        return {
            "train": summarize_samples(train_samples),
            "val": summarize_samples([s for samples in self.data.val for s in samples]),
            "object_diameter": median_diameter([s.labels for s in train_samples]),
            "object_diameter_range": diameter_range([s.labels for s in train_samples]),
        }

    def meta(self, metrics: dict[str, float]) -> dict[str, Any]:
        """Everything inference needs besides the weights (see ``microseg.models.checkpoint``)."""
        sources = self.config.data.sources
        first = sources[0]
        summary = self.data_summary
        return {
            "in_channels": self.data.channels,
            "normalization": to_dict(source_normalization(first)),
            "target": describe(self.target),
            "post": to_dict(self.config.validation.post),
            "object_diameter": summary["object_diameter"],
            "object_diameter_range": summary["object_diameter_range"],
            "scale": first.scale,
            "training": {
                "sources": [{"name": name, "kind": s.kind, "train_images": len(tr),
                             "modality": s.modality, "normalize": s.normalize,
                             "diameter": s.diameter, "scale": s.scale}
                            for name, s, tr in zip(self.data.names, sources, self.data.train)],
                "train_data": summary["train"],
                "val_data": summary["val"],
                "val_images": sum(len(v) for v in self.data.val),
                "iterations": self.iteration,
                "total_iterations": self.total,
                "images_seen": self.images_seen,
                "config": to_dict(self.config),
            },
            "metrics": metrics,
            "iteration": self.iteration,
        }

    def state(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "images_seen": self.images_seen,
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "streams": [s.position for s in self.streams],
            "best": self.best,
            "best_metrics": self.best_metrics,
            "bad_validations": self.bad_validations,
            "history": self.history,
            "rng": _rng_state(),
        }

    def save_last(self, metrics: dict[str, float]) -> Path:
        return save_checkpoint(self.out / "last.pt", self.model, self.meta(metrics), **self.state())

    def initialise(self, name_or_path: str, layers: str = "all",
                   rename: dict[str, str] | None = None) -> None:
        """Copy the weights of a checkpoint (path or bundled model name) into the new model:
        all of them (``layers="all"``, same architecture) or those whose name and shape match
        (``"matching"``, after replacing the ``rename`` prefixes of the checkpoint's names;
        InputError when none match), or all of them grown into this wider U-Net (``"widen"``)."""
        path = zoo.checkpoint_path(name_or_path) if zoo.is_model_name(name_or_path) \
            else Path(name_or_path)
        if layers == "all":
            model, _, _ = self._matching_checkpoint(path)
            self.model.load_state_dict(model.state_dict())
            return
        if layers == "widen":
            try:
                state = widened_state(load_checkpoint(path)[0], self.model)
            except ConfigError as error:
                raise InputError(path, f"cannot be widened into the configured model: {error}") \
                    from None
            self.model.load_state_dict(state)
            tqdm.write(f"init: {path} widened to base_channels "
                       f"{self.model.config['base_channels']}")
            return
        source = {_renamed(k, rename or {}): v
                  for k, v in load_checkpoint(path)[0].state_dict().items()}
        target = self.model.state_dict()
        shared = {k: v for k, v in source.items() if k in target and v.shape == target[k].shape}
        if not any(v.ndim for v in shared.values()):   # counters alone do not count
            raise InputError(path, "no weight of the checkpoint matches the configured model "
                                   "in name and shape")
        self.model.load_state_dict(shared, strict=False)
        tqdm.write(f"init: {len(shared)} of {len(target)} tensors from {path}; "
                   f"{len(target) - len(shared)} keep their fresh initialisation")

    def _matching_checkpoint(self, path: Path
                             ) -> tuple[nn.Module, ModelMeta, dict[str, Any]]:
        """The model, meta and trainer state of checkpoint ``path``, which must have this run's
        architecture (compared as rebuilt, so that a checkpoint written before a configuration
        field existed matches when it takes that field's default)."""
        model, meta, state = load_checkpoint(path)
        if meta.arch != self.model.arch or \
                plain_data(model.config) != plain_data(self.model.config):
            raise InputError(path, "checkpoint architecture differs from the configured model")
        return model, meta, state

    def resume(self, path: str | Path) -> None:
        """Load ``path`` (a ``last.pt``) and continue from its iteration. The configuration must
        be the checkpoint's, but for :data:`~microseg.train.config.RESUME_MAY_CHANGE`
        (:class:`ConfigError` listing the keys that differ)."""
        path = Path(path)
        model, meta, state = self._matching_checkpoint(path)
        if "optimizer" not in state:
            raise InputError(path, "checkpoint holds no trainer state (use a run's last.pt)")
        self._check_same_config(path, meta)
        if len(state["streams"]) != len(self.streams):
            raise InputError(path, f"checkpoint has {len(state['streams'])} data streams, the "
                                   f"configuration {len(self.streams)}")
        self.model.load_state_dict(model.state_dict())
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        for stream, position in zip(self.streams, state["streams"]):
            stream.position = int(position)
        self.iteration = int(state["iteration"])
        self.images_seen = int(state["images_seen"])
        self.best = state["best"]
        self.best_metrics = dict(state["best_metrics"])
        self.bad_validations = int(state["bad_validations"])
        self.history = list(state["history"])
        _set_rng_state(state["rng"])

    def _check_same_config(self, path: Path, meta: ModelMeta) -> None:
        """Refuse to resume ``path`` (meta ``meta``) under a configuration that differs from the
        one it recorded in more than :data:`~microseg.train.config.RESUME_MAY_CHANGE`."""
        recorded = (meta.training or {}).get("config")
        changes = resume_changes(recorded, self.config) if recorded else []
        if changes:
            more = f" (and {len(changes) - 5} more)" if len(changes) > 5 else ""
            raise ConfigError(f"{path}: cannot resume under a different configuration: "
                              f"{'; '.join(changes[:5])}{more}; only "
                              f"{', '.join(RESUME_MAY_CHANGE)} may change (start a new run, "
                              f"or resume with the configuration the checkpoint records)")

    # --- validation ----------------------------------------------------------------------------
    def validation_sets(self) -> list[tuple[str, list[Sample]]]:
        """``(name, samples)`` per validation dataset, capped at ``validation.max_images``."""
        return capped(self.data.val_names, self.data.val, self.config.validation.max_images)

    def predictor(self) -> Predictor:
        """The model as deployment runs it: a :class:`~microseg.infer.Predictor` of the model
        (put in eval mode) with this run's checkpoint meta."""
        return Predictor(self.model, meta=self.meta({}), device=self.device)

    def validate(self) -> dict[str, float]:
        """Scores on the validation split of every source that has one (means over datasets),
        the model run by :meth:`predictor`."""
        config = self.config.validation
        loss_of = LossOf(self.model, self.loss, self.target, self.contact,
                         self.config.channels_last, self.device)
        was_training = self.model.training
        self.model.eval()
        try:
            predictor = self.predictor()
            results = [score_dataset(name, predictor, samples, config, loss_of)
                       for name, samples in self.validation_sets()]
        finally:
            self.model.train(was_training)
        return summarize(results, config.select)

    def tune_best(self) -> PostTuning:
        """Choose ``best.pt``'s post-processing from ``validation.tune`` on the validation data
        and store it (with the scores it reaches and the whole grid) in ``best.pt``; the
        checkpoint is loaded as deployment loads it."""
        path = self.out / "best.pt"
        predictor = Predictor(path, device=self.device)
        tuning = tune_post(predictor, self.validation_sets(), self.config.validation)
        store_tuning(path, predictor, tuning)
        return tuning

    def improved(self, value: float) -> bool:
        if np.isnan(value):
            return False
        if self.best is None:
            return True
        delta = self.config.early_stopping.min_delta
        if self.config.validation.mode == "max":
            return value > self.best + delta
        return value < self.best - delta

    # --- loop ----------------------------------------------------------------------------------
    def log_columns(self) -> list[str]:
        columns = ["epoch", "lr", "loss", *getattr(self.loss, "component_names", []),
                   "images_per_s", "elapsed_s"]
        columns += [f"val_{c}" for c in VALIDATION_COLUMNS]
        if len(self.data.val) > 1:
            columns += [f"val_{n}/{c}" for n in self.data.val_names
                        for c in ("f1", "ap", "seg", "iou")]
        return list(dict.fromkeys(columns))

    def validate_and_keep(self) -> dict[str, float]:
        """Validate, update the schedule (plateau), ``best.pt`` and the early-stopping count."""
        metrics = self.validate()
        value = metrics[self.config.validation.metric]
        self.schedule.observe(value, self.config.validation.mode)
        if self.improved(value):
            self.best, self.best_metrics, self.bad_validations = value, metrics, 0
            save_checkpoint(self.out / "best.pt", self.model, self.meta(metrics))
        else:
            self.bad_validations += 1
        self.history.append({"iteration": self.iteration, **metrics})
        return metrics

    def run(self, stop_at: int | None = None, time_limit: float | None = None,
            progress: bool = True, resumed: bool = False,
            on_step: Callable[[int], None] | None = None) -> TrainResult:
        """Train until the configured total, ``stop_at`` iterations (as if interrupted: no final
        validation), ``time_limit`` seconds or early stopping. Validates every
        ``validation.every`` iterations and when the run ends; writes ``log.csv``, ``last.pt``
        (with trainer state) and ``best.pt`` into the output folder. ``on_step`` is called with
        the iteration number after each optimiser step (e.g. a GUI's progress bar)."""
        self.out.mkdir(parents=True, exist_ok=True)
        log = CsvLog(self.out / "log.csv", self.log_columns(), self.iteration if resumed else None)
        end = self.total if stop_at is None else min(stop_at, self.total)
        every, patience = self.config.validation.every, self.config.early_stopping.patience
        started = time.monotonic()
        window = _Window()
        previous = self.history[-1] if self.history else {}
        metrics = {k: v for k, v in previous.items() if k != "iteration"}
        stopped = "completed" if self.iteration >= self.total else "stop_at"
        self.model.train()
        bar = tqdm(total=self.total, initial=self.iteration, desc="train", unit="it",
                   disable=not progress, dynamic_ncols=True)
        try:
            while self.iteration < end:
                lr = self.schedule.lr(self.iteration)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                batches = [self.streams[k].next() for k in self.scheme.plan(self.iteration)]
                result = optimiser_step(self.model, self.loss, self.optimizer, batches,
                                        self.config.channels_last, self.device)
                self.iteration += 1
                self.images_seen += result.images
                window.add(result)
                bar.update(1)
                if on_step is not None:
                    on_step(self.iteration)
                if self.iteration >= self.total:
                    stopped = "completed"
                elif time_limit is not None and time.monotonic() - started > time_limit:
                    stopped = "time_limit"
                validate = bool(self.data.val) and (
                    self.iteration % every == 0 or stopped in ("completed", "time_limit"))
                if not (validate or self.iteration % self.config.log_every == 0
                        or self.iteration == end or stopped != "stop_at"):
                    continue
                row = {"iteration": self.iteration, "epoch": self.iteration / self.epoch_length,
                       "lr": lr, "elapsed_s": time.monotonic() - started, **window.flush()}
                if validate:
                    metrics = self.validate_and_keep()
                    row.update({f"val_{k}": v for k, v in metrics.items()})
                    bar.set_postfix_str(
                        ", ".join(f"{k} {metrics[k]:.3f}" for k in ("f1", "iou", "seg")))
                    self.save_last(metrics)
                    window.start = time.monotonic()  # throughput excludes validation
                log.write(row)
                bar.set_description(f"train loss {row['loss']:.4f}")
                if validate and patience is not None and self.bad_validations > patience:
                    stopped = "early_stopping"
                if stopped != "stop_at":
                    break
        except KeyboardInterrupt:
            self.save_last(metrics)
            raise
        finally:
            bar.close()
        last = self.save_last(metrics)
        best = self.out / "best.pt"
        tuned = None
        tunes = self.config.validation.tune or self.config.validation.tune_bright_background
        if stopped != "stop_at" and tunes and best.is_file():
            tuned = self.tune_best().post.params
        return TrainResult(self.out, last, best if best.is_file() else None, self.iteration,
                           self.total, self.best, stopped, list(self.history), tuned)


class _Window:
    """Running sums of the training loss between two log lines."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.start = time.monotonic()
        self.loss, self.steps, self.images = 0.0, 0, 0
        self.components: dict[str, float] = {}

    def add(self, result: Any) -> None:
        self.loss += result.loss
        self.steps += 1
        self.images += result.images
        for name, value in result.components.items():
            self.components[name] = self.components.get(name, 0.0) + value

    def flush(self) -> dict[str, float]:
        steps = max(self.steps, 1)
        seconds = max(time.monotonic() - self.start, 1e-9)
        row = {"loss": self.loss / steps, "images_per_s": self.images / seconds,
               **{k: v / steps for k, v in self.components.items()}}
        self.reset()
        return row


def train(config: TrainConfig | str | Path | dict[str, Any], *, resume: str | Path | None = None,
          out: str | Path | None = None, stop_at: int | None = None,
          time_limit: float | None = None, progress: bool = True,
          datasets: Datasets | None = None,
          on_step: Callable[[int], None] | None = None) -> TrainResult:
    """Run a training configuration (a :class:`TrainConfig`, a YAML path or a dict).

    ``resume``: a ``last.pt`` to continue from; ``out``: output folder (default
    ``config.output``); ``stop_at``: stop after this many iterations as if interrupted;
    ``time_limit``: stop after this many seconds; ``datasets``: preloaded samples (tests,
    benchmarks); ``on_step``: called with the iteration number after each optimiser step.
    Returns a :class:`TrainResult`.
    """
    if not isinstance(config, TrainConfig):
        config = train_config(config)
    trainer = Trainer(config, Path(out if out is not None else config.output), datasets)
    if resume is not None:
        trainer.resume(resume)
    return trainer.run(stop_at=stop_at, time_limit=time_limit, progress=progress,
                       resumed=resume is not None, on_step=on_step)


def _renamed(name: str, prefixes: dict[str, str]) -> str:
    """``name`` with its first matching prefix of ``prefixes`` replaced by the mapped one."""
    for old, new in prefixes.items():
        if name.startswith(old):
            return new + name[len(old):]
    return name
