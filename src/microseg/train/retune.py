"""Tune the post-processing of a trained checkpoint again, without training.

>>> tune_checkpoint("configs/default_model_stage3.yaml", "runs/x/best.pt")  # doctest: +SKIP

The configuration's validation data and its ``validation`` grids (``tune``,
``tune_bright_background``) are used as after training (:func:`~microseg.train.validate.
tune_post`); the checkpoint's recorded post-processing is the starting point, so a grid of
overrides only (``tune_bright_background``) keeps the parameters already tuned, and the
recorded grid (``post_tuning``) gains the new rows.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from microseg.config import from_dict
from microseg.errors import ConfigError
from microseg.infer.predictor import Predictor
from microseg.train.config import PostConfig, TrainConfig, train_config
from microseg.train.trainer import capped, load_validation, store_tuning
from microseg.train.validate import PostTuning, tune_post


def tune_checkpoint(config: TrainConfig | str | Path | dict[str, Any], checkpoint: str | Path,
                    out: str | Path | None = None, progress: bool = False
                    ) -> tuple[PostTuning, Path]:
    """Tune ``checkpoint``'s post-processing on ``config``'s validation data and write the
    checkpoint with it to ``out`` (default: over ``checkpoint``, atomically) →
    ``(tuning, path written)``; ``progress`` shows bars. The checkpoint is loaded as deployment
    loads it (a :class:`~microseg.infer.Predictor`)."""
    if not isinstance(config, TrainConfig):
        config = train_config(config)
    validation = config.validation
    if not validation.tune and not validation.tune_bright_background:
        raise ConfigError("the configuration's validation lists no tune or "
                          "tune_bright_background grid")
    predictor = Predictor(Path(checkpoint), device=config.device)
    meta = predictor.meta
    if meta.post:
        validation = dataclasses.replace(validation, post=from_dict(
            PostConfig, meta.post, where=f"{checkpoint}: post"))
    names, sets = load_validation(config)
    tuning = tune_post(predictor, capped(names, sets, validation.max_images), validation,
                       progress)
    if not validation.tune:   # the recorded parameters stay, and so does the grid that chose them
        tuning = dataclasses.replace(tuning, table=[*(meta.post_tuning or []),
                                                    *tuning.table])
    return tuning, store_tuning(Path(out if out is not None else checkpoint), predictor, tuning)
