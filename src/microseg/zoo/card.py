"""Model cards: what a bundled model is, what it was trained on and how to reproduce it.

A card is a YAML file ``zoo/cards/<name>.yaml`` read into :class:`ModelCard` with
:func:`microseg.config.from_dict` (unknown keys are rejected). Fields that repeat the
checkpoint's own record (architecture, input channels, normalisation, object diameter) are
there so that a reader needs no torch to see them; the zoo tests check that both agree.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from microseg.config import Count, check_choice, check_fields, from_dict, load_yaml
from microseg.errors import ConfigError
from microseg.models.meta import ModelMeta
from microseg.pipelines.names import PIPELINES
from microseg.post.registry import default_post
from microseg.preprocess.normalize import Normalization


@dataclass
class Architecture:
    """``microseg.models.build(name, **config)`` rebuilds the network (``config`` may leave
    out arguments at their defaults)."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class InputSpec:
    """What the network expects: ``channels`` input channels, intensity ``normalization``
    method (as recorded in the checkpoint: ``percentile``, ``sequence``, …), the typical
    object diameter it was trained at (``object_diameter_px``, pixels) or the training
    ``pixel_size`` (physical unit), and the imaging ``modalities`` it was trained on.
    ``dark_background``: bright-background images are inverted after normalisation."""

    channels: Count
    normalization: str
    dark_background: bool = False
    modalities: list[str] = field(default_factory=list)
    object_diameter_px: float | None = None
    pixel_size: float | None = None

    def __post_init__(self) -> None:
        check_fields(self, "input")


@dataclass
class DataSource:
    """One training data set: ``name``, which part was used (``description``), the papers to
    cite (``citation``, with their ``doi`` in the same order) and its licence or terms of use;
    ``synthetic``: made by microseg's own generators (:mod:`microseg.data.synthetic`), so no
    paper to cite."""

    name: str
    description: str
    citation: str
    licence: str
    doi: list[str] = field(default_factory=list)
    synthetic: bool = False


@dataclass
class Training:
    """How the weights were made: ``data``, the training configuration (``config``, a path in
    the repository), the ``commands`` that reproduce them, the multi-dataset ``scheme`` and the
    number of ``iterations``."""

    data: list[DataSource]
    config: str
    commands: list[str]
    scheme: str | None = None
    iterations: int | None = None

    def __post_init__(self) -> None:
        check_fields(self, "training")
        if not self.data:
            raise ConfigError("training.data must name at least one data set")


@dataclass
class Post:
    """Post-processing of the ``cells`` pipeline: method name (:mod:`microseg.post.registry`)
    and the parameters it runs with (a subset of what the checkpoint records), and those that
    override them on images whose bright background the normalisation inverted."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    bright_background: dict[str, Any] = field(default_factory=dict)


@dataclass
class Validation:
    """One measured figure: ``metric`` = ``value`` on ``split`` of ``dataset``."""

    dataset: str
    split: str
    metric: str
    value: float


@dataclass
class ModelCard:
    """A bundled model's card (see the module docstring). ``pipeline``: how the maps become
    instances (:data:`microseg.pipelines.names.PIPELINES`). ``edge_classifier``: file name, in
    the weights folder, of the edge random forests an EM pipeline uses (``microseg
    train-edges``); ``validation_command`` reproduces the ``validation`` figures. ``authors``
    of the model and ``spdx_licence``, the SPDX identifier of the weights' licence (``licence``
    in words), go into exported packages (:mod:`microseg.pipelines.bioimageio`)."""

    name: str
    summary: str
    architecture: Architecture
    parameters: Count
    input: InputSpec
    training: Training
    licence: str
    authors: list[str] = field(default_factory=list)
    spdx_licence: str | None = None
    pipeline: str = "cells"
    post: Post | None = None
    edge_classifier: str | None = None
    validation: list[Validation] = field(default_factory=list)
    validation_command: str | None = None

    def __post_init__(self) -> None:
        check_fields(self, "")
        check_choice("pipeline", self.pipeline, PIPELINES)
        if self.pipeline == "cells" and self.edge_classifier is not None:
            raise ConfigError("edge_classifier belongs to the EM pipelines (em-mc, em-lmc) only")

    def differences(self, meta: ModelMeta, heads: Sequence[str | None] = (None,)) -> list[str]:
        """Where the card's restatement of the checkpoint record ``meta`` (of a model with
        output ``heads``) disagrees with it, as ``"key: card … ≠ checkpoint …"`` (empty: none).
        Diameters and pixel sizes agree within 1 %."""
        normalization = meta.normalization or Normalization()
        pairs: list[tuple[str, Any, Any]] = [
            ("architecture.name", self.architecture.name, meta.arch),
            ("architecture.config", self.architecture.config,
             {k: meta.config.get(k) for k in self.architecture.config}),
            ("input.normalization", self.input.normalization, normalization.method),
            ("input.dark_background", self.input.dark_background, normalization.dark_background),
        ]
        if meta.in_channels is not None:
            pairs.append(("input.channels", self.input.channels, meta.in_channels))
        for key, card_value, recorded in (
                ("input.object_diameter_px", self.input.object_diameter_px, meta.object_diameter),
                ("input.pixel_size", self.input.pixel_size, meta.pixel_size)):
            if card_value is not None and not (
                    recorded is not None and math.isclose(card_value, recorded, rel_tol=0.01)):
                pairs.append((key, card_value, recorded))
        if self.post is not None:
            name, params = default_post(meta, heads)
            _, bright = default_post(meta, heads, bright_background=True)
            pairs += [("post.name", self.post.name, name),
                      ("post.params", self.post.params, {k: params.get(k) for k in self.post.params}),
                      ("post.bright_background", self.post.bright_background,
                       (meta.post or {}).get("bright_background") or {}),
                      ("post.params on bright background", {**params, **self.post.bright_background},
                       bright)]
        return [f"{key}: card {a!r} ≠ checkpoint {b!r}" for key, a, b in pairs if a != b]


def read_card(path: str | Path) -> ModelCard:
    """Read and check a card file. A malformed file raises :class:`~microseg.errors.InputError`,
    unknown or missing keys and bad values :class:`ConfigError`, each naming the file; the
    card's ``name`` must be the file's stem."""
    path = Path(path)
    data = load_yaml(path)
    try:
        card = from_dict(ModelCard, data, where="")
    except (ConfigError, TypeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if card.name != path.stem:
        raise ConfigError(f"{path}: name {card.name!r} differs from the file name {path.stem!r}")
    return card
