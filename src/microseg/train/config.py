"""`TrainConfig`: everything about a training run, loadable from one YAML file; reading it
builds every part it names (no data is read), so a bad value fails at once:

>>> import yaml
>>> config = train_config(yaml.safe_load('''
... data:                       # microseg.data.config.DataConfig; one source = one dataset
...   root: ${MICROSEG_DATA}    # DEFAULT_DATA_ROOT when the variable is unset
...   sources:
...     - {kind: folder, name: dsb2018, images: dsb2018/images, labels: dsb2018/labels,
...        ids: {train: dsb2018/train.txt, val: dsb2018/val.txt}}
... target: {name: three_class}
... augment: {flip: true, rot90: true}          # microseg.augment.AugmentConfig
... model: {name: unet, params: {base_channels: 32, depth: 4}}
... loss: {name: sum, params: {terms: [{name: weighted_ce}, {name: jreg}]}}
... optimizer: {name: adamw, lr: 1.0e-4}
... schedule: {name: cosine_restarts, unit: epochs, restarts: [100, 300, 700]}
... scheme: {name: acc}
... epochs: 1500
... iterations_per_epoch: 20
... validation: {every: 200, metric: f1}
... '''))
>>> config.model.params, config.scheme.name, config.total_iterations(20)
({'base_channels': 32, 'depth': 4}, 'acc', 30000)
>>> train_config({**yaml.safe_load("data: {sources: [{kind: ctc, sequences: [a/01]}]}"),
...               "epochs": 1, "model": {"name": "unett"}})
Traceback (most recent call last):
...
microseg.errors.ConfigError: model.name: 'unett' is not one of efficientcellseg, panoptic, rcspcnet, unet, xbnet
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from microseg.augment import AugmentConfig
from microseg.config import (Count, NonNegative, Positive, Range, check_choice, check_fields,
                             from_dict, load_yaml)
from microseg.data.config import DataConfig
from microseg.errors import ConfigError
from microseg.targets import ContactWeight
from microseg.train.schedule import ScheduleConfig
from microseg.train.schemes import SchemeConfig
from microseg.train.targets import TargetSpec, build_target, describe, output_channels

DATA_VARIABLE = "MICROSEG_DATA"
DEFAULT_DATA_ROOT = "../shared/data"
_DATA_PATTERN = re.compile(r"\$\{MICROSEG_DATA\}|\$MICROSEG_DATA\b")


@dataclass
class TargetConfig:
    """``microseg.targets.build(name, **params)``, or one target per output head of a multi-head
    model: ``heads: {head: {name: ..., params: {...}}}`` (``name`` / ``params`` then unused).

    ``contact_weight`` (≥ 1) multiplies the loss on the pixels whose box of half-width
    ``contact_radius`` holds two cells (:class:`microseg.targets.ContactWeight`), all heads."""

    name: str = "three_class"
    params: dict[str, Any] = field(default_factory=dict)
    heads: dict[str, dict[str, Any]] | None = None
    contact_weight: float = 1.0
    contact_radius: int = 2

    def __post_init__(self) -> None:
        self.contact()                      # checks contact_weight and contact_radius

    def contact(self) -> ContactWeight | None:
        """The contact weighting, or None when ``contact_weight`` is 1."""
        weighting = ContactWeight(self.contact_weight, self.contact_radius,
                                  bool(self.params.get("in_plane", False)))
        return weighting if weighting.active else None


@dataclass
class ModelConfig:
    """``microseg.models.build(name, **params)``; ``in_channels`` / ``out_channels`` are filled in
    from the data and the target when absent."""

    name: str = "unet"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class LossConfig:
    """``microseg.losses.build(name, **params)``."""

    name: str = "weighted_ce"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimizerConfig:
    """Adam or AdamW (XB-Net: AdamW with default settings, lr 1e-4)."""

    name: Literal["adam", "adamw"] = "adamw"
    lr: Positive = 1e-4
    weight_decay: NonNegative = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    amsgrad: bool = False

    def __post_init__(self) -> None:
        check_fields(self, "optimizer")


@dataclass
class PostConfig:
    """How validation turns the network output into instances, recorded in the checkpoint as
    the post-processing deployment uses (:func:`microseg.post.registry.default_post`).

    ``name``: a method of :mod:`microseg.post.registry` (``three_class``, ``components``,
    ``mesmer_watershed``, …) applied to the predictor's maps, or ``auto``, resolved as
    deployment resolves it (:func:`microseg.post.registry.resolve_post`: ``mesmer_watershed``
    or ``center_watershed`` for such heads, else ``three_class`` for a 3-class target and
    ``components`` otherwise). ``params`` go to the chosen method (e.g. ``threshold``,
    ``invert``, ``min_size``, ``fill_holes`` for ``components``; ``min_size``, ``grow``,
    ``fill_holes`` for ``three_class``). ``head``: which output of a multi-head model
    ``three_class`` / ``components`` use (``auto``: default the first). ``bright_background``:
    parameters that override ``params`` on images whose bright background the normalisation
    inverted (bright-field, H&E-like stains: other morphology, other best thresholds).
    """

    name: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    head: str | None = None
    bright_background: dict[str, Any] = field(default_factory=dict)

    def params_for(self, bright_background: bool) -> dict[str, Any]:
        """The parameters for an image that had (or had not) its bright background inverted."""
        return {**self.params, **self.bright_background} if bright_background else self.params

    def __post_init__(self) -> None:
        from microseg.post.registry import available

        check_choice("post.name", self.name, ["auto", *available()])


@dataclass
class ValidationConfig:
    """Whole-image validation every ``every`` iterations; ``metric`` (one of f1, ap, seg, iou,
    loss) selects ``best.pt``; F1 is taken at IoU ``iou``; ``max_images`` caps the images per
    dataset. ``tune`` (e.g. ``{min_size: [10, 20, 40]}``): after training, the post-processing
    parameters of ``best.pt`` are chosen from this grid on the validation data and stored in it
    (thresholds belong to the model, not to user scripts). ``tune_bright_background`` (e.g.
    ``{seed_threshold: [0.6, 0.75]}``): then, on the validation images whose bright background
    was inverted, the grid of overrides stored as ``post.bright_background`` (no override among
    the candidates). ``select`` names the validation datasets whose mean score selects
    ``best.pt`` and tunes (default: all of them)."""

    every: Count = 500
    metric: Literal["f1", "ap", "seg", "iou", "loss"] = "f1"
    iou: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.5
    max_images: int | None = None
    post: PostConfig = field(default_factory=PostConfig)
    tune: dict[str, list[Any]] | None = None
    tune_bright_background: dict[str, list[Any]] | None = None
    select: list[str] | None = None

    def __post_init__(self) -> None:
        check_fields(self, "validation")
        if self.select == []:
            raise ConfigError("validation.select lists dataset names, got []")
        for key in ("tune", "tune_bright_background"):
            grid = getattr(self, key)
            if grid is None:
                continue
            if self.metric == "loss":
                raise ConfigError(f"validation.{key} needs a score as metric, not the loss")
            if not grid or not all(grid.values()):
                raise ConfigError(
                    f"validation.{key} maps parameter names to non-empty lists, got {grid}")

    @property
    def mode(self) -> str:
        """``min`` for the loss, ``max`` for every score."""
        return "min" if self.metric == "loss" else "max"


@dataclass
class EarlyStoppingConfig:
    """Stop when the selection metric has not improved by ``min_delta`` for ``patience``
    validations (None = never stop early). RC-SPCNet: patience 5 epochs."""

    patience: int | None = None
    min_delta: float = 0.0


@dataclass
class TrainConfig:
    """A training run. Exactly one of ``iterations`` (optimiser steps) and ``epochs`` is given;
    an epoch is ``iterations_per_epoch`` steps (default: one pass over the training images).
    ``crop`` (square, pixels) overrides ``augment.crop``; ``None`` keeps ``augment.crop``.
    ``init`` (a checkpoint path or a bundled model name) starts from that model's weights
    (fine-tuning); with ``init_layers: all`` its architecture must be the configured one, with
    ``matching`` every weight whose name and shape agree is copied and the rest (e.g. a new
    output head) keep their fresh initialisation, with ``widen`` the checkpoint is a U-Net with
    fewer ``base_channels`` that the configured one is grown from without changing its outputs
    (:mod:`microseg.models.widen`); ``init_rename`` (``{old prefix: new prefix}``,
    e.g. ``{head.: heads.pixelwise.}``) renames the checkpoint's weights before matching.
    ``device``: ``auto`` (a CUDA GPU when torch sees one, else the CPU), ``cpu`` or ``cuda``
    (:func:`~microseg.infer.device.resolve_device`)."""

    data: DataConfig
    train_split: str = "train"
    val_split: str | None = "val"
    target: TargetConfig = field(default_factory=TargetConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    scheme: SchemeConfig = field(default_factory=SchemeConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    iterations: Count | None = None
    epochs: Count | None = None
    iterations_per_epoch: Count | None = None
    batch_size: Count = 8
    crop: Count | None = 256
    seed: int = 0
    threads: Count | None = None
    device: str = "auto"
    channels_last: bool = False
    init: str | None = None
    init_layers: Literal["all", "matching", "widen"] = "all"
    init_rename: dict[str, str] = field(default_factory=dict)
    log_every: Count = 10
    output: str = "runs/train"

    def __post_init__(self) -> None:
        check_fields(self, "")
        if (self.iterations is None) == (self.epochs is None):
            raise ConfigError("give exactly one of iterations and epochs")
        if self.init_rename and self.init_layers != "matching":
            raise ConfigError("init_rename needs init_layers: matching")

    def total_iterations(self, epoch_length: int) -> int:
        """Optimiser steps of the whole run, an epoch being ``epoch_length`` steps."""
        if self.iterations is not None:
            return self.iterations
        assert self.epochs is not None
        return self.epochs * epoch_length

    def epoch_length(self, n_images: int, draws_per_step: int) -> int:
        """``iterations_per_epoch``, else the steps that show each training image about once."""
        if self.iterations_per_epoch is not None:
            return self.iterations_per_epoch
        return max(1, math.ceil(n_images / (self.batch_size * draws_per_step)))


#: What a resumed run may change: how long it runs, where it writes, how often it validates
#: and logs, and its threads and device (how it runs, not what it computes).
RESUME_MAY_CHANGE = ("iterations", "epochs", "output", "validation.every", "log_every", "threads",
                     "device")


def resume_changes(recorded: dict[str, Any], config: TrainConfig) -> list[str]:
    """``"key: recorded → now"`` for each dotted key whose value in ``config`` differs from the
    configuration a checkpoint recorded (``ModelMeta.training["config"]``), besides
    :data:`RESUME_MAY_CHANGE`. The recorded one is read as a :class:`TrainConfig` first, so
    that fields added since then take their defaults."""
    import reprlib

    from microseg.models.checkpoint import plain_data

    try:
        recorded = plain_data(from_dict(TrainConfig, upgrade(recorded, warn=False),
                                        where="recorded"))
    except ConfigError:
        pass                                   # keys unknown today are then listed as changes
    before, now = _flat(recorded), _flat(plain_data(config))
    pairs = {key: (before.get(key, "(absent)"), now.get(key, "(absent)"))
             for key in sorted(before.keys() | now.keys()) if key not in RESUME_MAY_CHANGE}
    return [f"{key}: {reprlib.repr(old)} → {reprlib.repr(new)}"
            for key, (old, new) in pairs.items() if old != new]


def _flat(value: Any, key: str = "") -> dict[str, Any]:
    """Nested dicts (and lists of dicts) → ``{"a.b[0].c": leaf}``."""
    if isinstance(value, dict):
        items = [(f"{key}.{k}" if key else str(k), v) for k, v in value.items()]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = [(f"{key}[{i}]", v) for i, v in enumerate(value)]
    else:
        return {key: value}
    return {k: leaf for child, v in items for k, leaf in _flat(v, child).items()}


def expand_data_root(value: Any, root: str | None = None) -> Any:
    """``value`` (nested dicts/lists/strings) with ``${MICROSEG_DATA}`` replaced by ``root``,
    else the environment variable, else :data:`DEFAULT_DATA_ROOT`."""
    root = root if root is not None else os.environ.get(DATA_VARIABLE, DEFAULT_DATA_ROOT)
    if isinstance(value, str):
        return _DATA_PATTERN.sub(lambda _: root, value)
    if isinstance(value, dict):
        return {k: expand_data_root(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_data_root(v, root) for v in value]
    return value


def model_params(config: TrainConfig, in_channels: int, target: TargetSpec) -> dict[str, Any]:
    """``config.model.params`` with ``in_channels`` and ``out_channels`` (or ``heads`` for a
    target per head) filled in from the data and the target when absent."""
    built = dict(config.model.params)
    built.setdefault("in_channels", in_channels)
    channels = output_channels(target)
    built.setdefault("heads" if isinstance(channels, dict) else "out_channels", channels)
    return built


def build_parts(config: TrainConfig) -> None:
    """Build every part ``config`` names from its registry with its params: the target(s), the
    loss, the model (on the meta device: no memory, no weights read) and the validation
    post-processing (run on empty maps), so that a bad name or parameter fails when the
    configuration is read, before any data loads. Raises :class:`ConfigError`."""
    import numpy as np
    import torch

    from microseg import losses, models, targets
    from microseg.models.meta import ModelMeta
    from microseg.models.registry import INITIALISERS
    from microseg.config import to_dict
    from microseg.post.registry import default_post, postprocess

    if config.target.heads is None:
        check_choice("target.name", config.target.name, targets.available())
    target = build_target(config.target.name, config.target.params, config.target.heads)
    check_choice("loss.name", config.loss.name, losses.available())
    losses.build(config.loss.name, **config.loss.params)
    check_choice("model.name", config.model.name, models.available())
    source = config.data.sources[0]
    params = model_params(config, source.channels, target)
    with torch.device("meta"):
        models.build(config.model.name, **{k: v for k, v in params.items()
                                           if k not in INITIALISERS})
    channels = output_channels(target)
    spatial = (4,) * source.ndim
    if isinstance(channels, dict):
        heads: list[str | None] = list(channels)
        maps: Any = {h: np.zeros((c, *spatial), np.float32) for h, c in channels.items()}
    else:
        heads, maps = [None], np.zeros((channels, *spatial), np.float32)
    meta = ModelMeta(post=to_dict(config.validation.post), target=describe(target))
    for bright_background in (False, True):
        name, post_params = default_post(meta, heads, bright_background)
        postprocess(name, maps, **post_params)


def upgrade(data: dict[str, Any], warn: bool = True) -> dict[str, Any]:
    """A training configuration mapping in today's keys: ``model: {config: ...}`` becomes
    ``model: {params: ...}`` (with a :class:`DeprecationWarning` when ``warn``)."""
    model = data.get("model")
    if not isinstance(model, dict) or "config" not in model:
        return data
    if "params" in model:
        raise ConfigError("model: give params only (config is its old name)")
    if warn:
        warnings.warn("model.config is now model.params; rename the key", DeprecationWarning,
                      stacklevel=3)
    model = {("params" if k == "config" else k): v for k, v in model.items()}
    return {**data, "model": model}


def train_config(source: str | Path | dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from a YAML file or a dict (``${MICROSEG_DATA}`` expanded), its
    parts built once (:func:`build_parts`) so that a bad value fails now, not after the data has
    loaded.

    Unknown keys and bad values raise :class:`ConfigError`; a missing or malformed file raises
    :class:`InputError`.
    """
    if not isinstance(source, (str, Path)):
        return _checked(dict(source))
    data = load_yaml(source)
    try:
        return _checked(data)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _checked(data: dict[str, Any]) -> TrainConfig:
    config = from_dict(TrainConfig, expand_data_root(upgrade(data)), where="")
    build_parts(config)
    return config
