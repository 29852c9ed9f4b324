"""Fine-tuning a model on the user's own annotated images in one call: ``microseg finetune``.

>>> result = finetune("my/images", "my/labels", init="default", minutes=20)  # doctest: +SKIP
>>> result.before["f1"], result.after["f1"], result.name                      # doctest: +SKIP

Steps, each with the machinery ``microseg train`` uses:

1. pair ``IMAGES/<stem>.*`` with ``LABELS/<stem>.*`` and split them by group into train /
   val / test (:func:`~microseg.data.splits.group_split`): a group is what the file names'
   ``group_by`` fields share (e.g. the stage position ``xy``, so that no field of view is in
   two splits) or, without a ``pattern``, each image alone; the id lists go to the run folder;
2. write the training configuration (``RUN/finetune.yaml``, a :class:`~microseg.train.
   TrainConfig`): the initial model's own recorded training recipe (target, loss, augmentation,
   post-processing) with ``init`` pointing at it, its normalisation, a constant learning rate,
   and a post-processing grid to tune; ``microseg train RUN/finetune.yaml`` reproduces it;
3. train for ``minutes`` (or ``iterations``), resuming from ``RUN/last.pt`` when the run
   folder holds one of the same configuration, validating on val (``best.pt``) and tuning the
   post-processing on val at the end;
4. score the initial and the new model the way ``microseg segment`` runs them on the held-out
   test split (F1 at IoU 0.5, SEG, mAP): the figures before and after;
5. pack ``best.pt`` as model ``NAME`` with a model card in the user's model folder
   (:func:`~microseg.zoo.user_models_dir`), so that ``--model NAME`` finds it.
"""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from microseg.errors import ConfigError, InputError

if TYPE_CHECKING:
    from microseg.io.items import LabelledItem

SPLITS = ("train", "val", "test")
#: Share of the groups held out for validation and for the test figures.
FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}
CONFIG_NAME = "finetune.yaml"
#: Fine-tuning learning rate (constant; Adam).
LEARNING_RATE = 2e-4
#: The post-processing grids tuned on the validation split, for three-class models and for
#: the others (``min_size`` is a parameter of every method).
THREE_CLASS_GRID = {"min_size": [10, 20, 30], "seed_threshold": [None, 0.6, 0.75],
                    "min_confidence": [None, 0.9]}
BRIGHT_BACKGROUND_GRID = {"seed_threshold": [0.6, 0.75, 0.85], "split_above": [None, 1.5]}
OTHER_GRID = {"min_size": [10, 20, 30]}
#: Without ``iterations``, training runs until ``minutes`` are up (or early stopping): this
#: many iterations at most.
UNTIL_TIME = 1_000_000
EVALUATION_METRICS = "seg,f1,ap"


@dataclass
class FinetuneResult:
    """What :func:`finetune` did: the model's ``name`` and packed file, the run folder and its
    configuration, the stems of each split, the held-out test scores of the initial model
    (``before``) and of the new one (``after``), how training stopped, its iterations and the
    seconds the whole call took."""

    name: str
    model: Path
    run: Path
    config: Path
    splits: dict[str, list[str]]
    before: dict[str, float]
    after: dict[str, float]
    stopped: str
    iterations: int
    seconds: float
    post: dict[str, Any] = field(default_factory=dict)


def finetune(images: str | Path, labels: str | Path, *, init: str = "default",
             minutes: float | None = 20.0, iterations: int | None = None,
             name: str | None = None, out: str | Path | None = None,
             pattern: str | None = None, group_by: Sequence[str] | None = None,
             test_groups: Sequence[str] | None = None, seed: int = 0, batch_size: int = 8,
             crop: int = 256, validate_every: int = 100, lr: float = LEARNING_RATE,
             threads: int | None = None, command: str | None = None,
             progress: bool = True,
             on_step: Callable[[int], None] | None = None) -> FinetuneResult:
    """Fine-tune ``init`` on the images of folder ``images`` and their label images in
    ``labels`` (see the module docstring) → :class:`FinetuneResult`.

    Args:
        init: the model to start from: a bundled or user model's name, or a checkpoint.
        minutes: training time (None: until ``iterations``); a rerun resumes the run.
        iterations: optimiser steps (default: as many as ``minutes`` allow).
        name: the new model's name (default ``<init>-<images folder name>``); not a bundled
            model's name.
        out: run folder (default ``runs/finetune-<name>``).
        pattern, group_by: file-name metadata regex with named groups and the fields that make
            a group (:func:`~microseg.data.splits.parse_filename_metadata`); without them each
            image is a group.
        test_groups: groups pinned to the test split (e.g. ``["xy10"]``).
        batch_size, crop, lr: training batch, square crop (pixels) and learning rate.
        validate_every: iterations between validations.
        command: the command line, recorded in the model card.
        progress: progress bars (tqdm); on_step: called with the iteration number after each
            training step (the napari widget's progress bar).
    """
    from microseg.io.folders import folder_items

    started = time.time()
    images, labels = Path(images).expanduser(), Path(labels).expanduser()
    init_path = _init_checkpoint(init)
    name = _model_name(name or f"{Path(str(init)).stem}-{images.resolve().name}")
    run = Path(out) if out is not None else Path("runs") / f"finetune-{name}"
    items = folder_items("", image_dir=images.resolve(), label_dir=labels.resolve())
    splits = split_items([item.name for item in items], pattern, group_by, test_groups, seed)
    ids = write_id_lists(run, splits)
    config_path = write_config(run, images.resolve(), labels.resolve(), ids, init, init_path,
                               pattern=pattern, iterations=iterations or UNTIL_TIME,
                               batch_size=batch_size, crop=crop, every=validate_every, lr=lr,
                               threads=threads, seed=seed)
    test = folder_items("", splits["test"], image_dir=images.resolve(),
                        label_dir=labels.resolve())
    before = score_model(init, test, progress)
    result = _train(config_path, run, minutes, progress, on_step)
    best = result.best if result.best is not None else result.last
    after = score_model(best, test, progress)
    model = pack_user_model(best, name, init, images, labels, splits, before, after,
                            config_path, command)
    return FinetuneResult(name, model, run, config_path, splits, before, after, result.stopped,
                          result.iteration, time.time() - started, result.post_params or {})


def split_items(stems: Sequence[str], pattern: str | None, group_by: Sequence[str] | None,
                test_groups: Sequence[str] | None = None,
                seed: int = 0) -> dict[str, list[str]]:
    """``stems`` split into train / val / test by group (:data:`FRACTIONS`, whole groups; see
    :func:`finetune`; with ``test_groups``, those are the test split and the others are
    shared by train and val in the same proportion); :class:`InputError` when there are fewer
    than three groups."""
    from microseg.data.splits import group_of, group_split, parse_filename_metadata

    if (pattern is None) != (not group_by):
        raise ConfigError("give a file-name pattern and the fields that group images "
                          "together (group_by) both, or neither")
    groups = [group_of(parse_filename_metadata(stem, pattern), group_by) if pattern else stem
              for stem in stems]
    if len(set(groups)) < len(SPLITS):
        raise InputError(None, f"fine-tuning needs at least 3 groups of images (train, "
                               f"validation, test), got {len(set(groups))}: "
                               f"{sorted(set(groups))[:10]}")
    fixed = {"test": list(test_groups)} if test_groups else None
    fractions = {k: v for k, v in FRACTIONS.items() if not (fixed and k == "test")}
    index = group_split(groups, fractions, seed, fixed)
    return {split: [stems[i] for i in index[split]] for split in SPLITS}


def write_id_lists(run: Path, splits: dict[str, list[str]]) -> dict[str, Path]:
    """One id list per split (``RUN/<split>.txt``, atomically) → split → its path."""
    from microseg.io.atomic import atomic_path

    paths = {}
    for split, stems in splits.items():
        paths[split] = run / f"{split}.txt"
        with atomic_path(paths[split]) as tmp:
            tmp.write_text("".join(f"{stem}\n" for stem in stems), encoding="utf-8")
    return paths


def write_config(run: Path, images: Path, labels: Path, ids: dict[str, Path], init: str,
                 init_path: Path, *, pattern: str | None, iterations: int, batch_size: int,
                 crop: int, every: int, lr: float, threads: int | None,
                 seed: int) -> Path:
    """The training configuration of the fine-tuning (see the module docstring), checked
    (:func:`~microseg.train.train_config`) and written to ``RUN/finetune.yaml`` → its path."""
    import yaml

    from microseg.io.atomic import atomic_path
    from microseg.models.checkpoint import read_checkpoint
    from microseg.train import train_config

    meta = read_checkpoint(init_path)["meta"]
    recorded = (meta.training or {}).get("config") or {}
    normalization = meta.normalization
    source: dict[str, Any] = {
        "kind": "folder", "name": images.name, "images": str(images), "labels": str(labels),
        "ids": {split: str(path.resolve()) for split, path in ids.items()},
        "channels": meta.in_channels or 1}
    if pattern:
        source["pattern"] = pattern
    if normalization is not None:
        source.update(normalize="percentile" if normalization.method == "sequence"
                      else normalization.method, percentiles=list(normalization.percentiles),
                      per_channel=normalization.per_channel,
                      dark_background=normalization.dark_background)
    post = dict((meta.post or recorded.get("validation", {}).get("post") or {"name": "auto"}))
    three_class = (meta.target or {}).get("name") == "three_class"
    validation: dict[str, Any] = {"every": every, "metric": "f1", "iou": 0.5, "post": post,
                                  "tune": THREE_CLASS_GRID if three_class else OTHER_GRID}
    if three_class and normalization is not None and normalization.dark_background:
        validation["tune_bright_background"] = BRIGHT_BACKGROUND_GRID
    config = {
        "data": {"sources": [source]},
        "target": recorded.get("target") or _target(meta.target),
        "augment": recorded.get("augment") or {"flip": True, "rot90": True},
        "model": {"name": meta.arch, "params": dict(meta.config)},
        "loss": recorded.get("loss") or {"name": "weighted_ce"},
        "optimizer": {"name": "adam", "lr": lr, "weight_decay": 0.0},
        "schedule": {"name": "constant"},
        "iterations": iterations,
        "batch_size": batch_size, "crop": crop, "seed": seed, "threads": threads,
        "channels_last": bool(recorded.get("channels_last", False)),
        "init": init if _is_name(init) else str(init_path), "init_layers": "all",
        "early_stopping": {"patience": 10},
        "validation": validation, "train_split": "train", "val_split": "val",
        "output": str(run)}
    train_config(config)                                     # fails now on a bad value
    path = run / CONFIG_NAME
    with atomic_path(path) as tmp:
        tmp.write_text("# microseg finetune: `microseg train " + str(path) + "` reproduces it\n"
                       + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def score_model(model: Any, items: Sequence["LabelledItem"],
                progress: bool = False) -> dict[str, float]:
    """Overall scores (:data:`EVALUATION_METRICS` at IoU 0.5) of ``model`` segmenting the
    images of ``items`` (:func:`~microseg.io.folders.folder_items`) as ``microseg segment``
    does (its default settings) against their labels."""
    from tqdm import tqdm

    from microseg.metrics import evaluate_arrays
    from microseg.pipelines.cells import segment
    from microseg.pipelines.model import load_model

    predictor = load_model(model)
    pairs = []
    for item in tqdm(items, desc="score", unit="image", disable=not progress, leave=False):
        image, truth = item.load()
        pairs.append((item.name, truth, segment(image, predictor)))
    overall = evaluate_arrays(pairs, EVALUATION_METRICS).overall
    return {key: float(overall[key]) for key in ("f1", "precision", "recall", "seg", "map")}


def pack_user_model(checkpoint: Path, name: str, init: str, images: Path, labels: Path,
                    splits: dict[str, list[str]], before: dict[str, float],
                    after: dict[str, float], config: Path, command: str | None) -> Path:
    """Pack ``checkpoint`` as the user's model ``name`` (``<user models>/<name>.pt``) with its
    card ``<name>.yaml`` (what it was fine-tuned from and on, the test figures) → the
    checkpoint's path."""
    import yaml

    from microseg import zoo
    from microseg.io.atomic import atomic_path
    from microseg.models.checkpoint import load_checkpoint
    from microseg.zoo.card import read_card
    from microseg.zoo.pack import pack_checkpoint

    folder = zoo.user_models_dir()
    target = pack_checkpoint(checkpoint, folder / f"{name}.pt")
    model, meta, _ = load_checkpoint(target)
    normalization = meta.normalization
    sizes = {split: len(stems) for split, stems in splits.items()}
    data = [{"name": images.name,
             "description": f"{sizes['train']} training and {sizes['val']} validation images of "
                            f"{images} (labels {labels}); {sizes['test']} held out for the "
                            f"figures",
             "citation": "the user's own data", "licence": "the user's own terms"}]
    if _is_name(init) and zoo.card_path(init).is_file():
        data += [dataclasses.asdict(source) for source in zoo.card(init).training.data]
    test = f"held-out test split ({sizes['test']} images)"
    post = meta.post or {}
    card = {
        "name": name,
        "summary": f"{init} fine-tuned with microseg finetune on {sizes['train']} images of "
                   f"{images}",
        "architecture": {"name": meta.arch, "config": dict(meta.config)},
        "parameters": sum(p.numel() for p in model.parameters()),
        "input": {"channels": meta.in_channels or 1,
                  "normalization": normalization.method if normalization else "percentile",
                  "dark_background": bool(normalization and normalization.dark_background),
                  "object_diameter_px": meta.object_diameter},
        "training": {"data": data, "config": str(config),
                     "commands": [command or f"microseg train {config}"],
                     "iterations": meta.iteration},
        "licence": "weights derived from " + (zoo.card(init).licence if _is_name(init) and
                                              zoo.card_path(init).is_file() else str(init))
                   + "; the user's data under the user's terms",
        "post": {"name": _resolved_post_name(meta), "params": post.get("params") or {},
                 "bright_background": post.get("bright_background") or {}},
        "validation": [
            {"dataset": images.name, "split": test, "metric": f"F1@0.5 of {init} before",
             "value": before["f1"]},
            {"dataset": images.name, "split": test, "metric": "F1@0.5", "value": after["f1"]},
            {"dataset": images.name, "split": test, "metric": "SEG", "value": after["seg"]}]}
    path = folder / f"{name}.yaml"
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(card, sort_keys=False), encoding="utf-8")
    read_card(path)                                      # the card is a valid one
    return target


def _train(config_path: Path, run: Path, minutes: float | None, progress: bool,
           on_step: Callable[[int], None] | None = None) -> Any:
    """Train the configuration, resuming from ``RUN/last.pt`` when there is one."""
    from microseg.train import train

    last = run / "last.pt"
    return train(config_path, resume=last if last.is_file() else None, out=run,
                 progress=progress, time_limit=None if minutes is None else 60.0 * minutes,
                 on_step=on_step)


def _init_checkpoint(init: str) -> Path:
    """The checkpoint file of ``init`` (a model's name or a path); InputError when missing."""
    from microseg import zoo

    if _is_name(init):
        return zoo.checkpoint_path(str(init))
    path = Path(init).expanduser()
    if not path.is_file():
        raise InputError(path, "initial checkpoint not found")
    return path


def _is_name(init: Any) -> bool:
    from microseg.zoo import is_model_name

    return is_model_name(init)


def _model_name(name: str) -> str:
    """``name`` checked as a model name: letters, digits, ``.``, ``_``, ``-``; not a bundled
    model's."""
    from microseg.zoo import card_names

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or name.endswith(".pt"):
        raise ConfigError(f"model name {name!r}: use letters, digits, '.', '_' and '-' only "
                          f"(no folder, no suffix)")
    if name in card_names():
        raise ConfigError(f"model name {name!r} is a bundled model's; choose another (--name)")
    return name


def _target(recorded: dict[str, Any] | None) -> dict[str, Any]:
    """A target configuration from a checkpoint's target record (its name; the rest are the
    target's parameters)."""
    recorded = dict(recorded or {"name": "three_class"})
    name = recorded.pop("name")
    return {"name": name, "params": {k: v for k, v in recorded.items() if v is not None}}


def _resolved_post_name(meta: Any) -> str:
    from microseg.post.registry import resolve_post

    return resolve_post(meta.post or {}, meta.target or {}, [None])["name"]
