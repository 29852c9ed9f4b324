"""Learning-rate schedules as pure functions of the optimiser step (plus plateau state).

Names (``ScheduleConfig.name``):

* ``constant`` — the optimiser's ``lr`` throughout (XB-Net's baseline, 1e-4);
* ``cosine`` — cosine annealing from ``lr`` to ``lr_min`` over the whole run (Loshchilov &
  Hutter, SGDR);
* ``cosine_restarts`` — cosine annealing restarted at ``restarts`` (XB-Net: epochs 100, 300, 700,
  training ending at 1500), each segment going from ``lr`` to ``lr_min``;
* ``plateau`` — ``lr`` multiplied by ``factor`` when the validation metric has not improved for
  more than ``patience`` validations (RC-SPCNet: factor 0.7, patience 3; EfficientCellSeg);
* ``cyclic`` — triangular cycles between ``lr`` and ``lr_max`` with half-cycle ``step_size``
  (protoplast U-Net: 1e-4 → 1e-2).

``unit`` says whether ``restarts`` and ``step_size`` count iterations (optimiser steps) or epochs.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from microseg.config import Count, NonNegative, Range, check_fields
from microseg.errors import ConfigError

ScheduleName = Literal["constant", "cosine", "cosine_restarts", "plateau", "cyclic"]


@dataclass
class ScheduleConfig:
    """Learning-rate schedule; the starting (and maximum) rate is the optimiser's ``lr``."""

    name: ScheduleName = "constant"
    unit: Literal["iterations", "epochs"] = "iterations"
    lr_min: NonNegative = 1e-6
    restarts: list[int] = field(default_factory=list)
    factor: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.1
    patience: Annotated[int, Range(0)] = 10
    threshold: float = 1e-4
    lr_max: float = 1e-2
    step_size: Count = 2000

    def __post_init__(self) -> None:
        check_fields(self, "schedule")
        if any(b <= a for a, b in zip([0, *self.restarts], self.restarts)):
            raise ConfigError(f"schedule.restarts must be increasing and > 0, got {self.restarts}")
        if self.name == "cosine_restarts" and not self.restarts:
            raise ConfigError("schedule 'cosine_restarts' needs restarts, e.g. [100, 300, 700]")


class LRSchedule:
    """The learning rate at each optimiser step of a run of ``total`` steps.

    ``lr(step)`` is a pure function of ``step`` except for ``plateau``, whose rate changes through
    :meth:`observe` (called after each validation); :meth:`state_dict` captures that state.
    """

    def __init__(self, config: ScheduleConfig, base_lr: float, total: int,
                 iterations_per_epoch: int = 1):
        if base_lr <= 0 or total < 1 or iterations_per_epoch < 1:
            raise ConfigError("schedule: lr must be > 0, total iterations and epoch length >= 1")
        if config.name == "cyclic" and config.lr_max <= base_lr:
            raise ConfigError(f"schedule 'cyclic': lr_max {config.lr_max} must exceed lr {base_lr}")
        self.config = config
        self.base_lr = float(base_lr)
        self.total = int(total)
        scale = iterations_per_epoch if config.unit == "epochs" else 1
        self.boundaries = [0, *(r * scale for r in config.restarts if r * scale < total), total]
        self.step_size = config.step_size * scale
        self.current = self.base_lr  # plateau state
        self.best: float | None = None
        self.bad = 0

    def lr(self, step: int) -> float:
        """Learning rate for optimiser step ``step`` (0-based)."""
        name, lr_min = self.config.name, self.config.lr_min
        if name == "constant":
            return self.base_lr
        if name == "plateau":
            return self.current
        if name == "cyclic":
            cycle = math.floor(1 + step / (2 * self.step_size))
            x = abs(step / self.step_size - 2 * cycle + 1)
            return self.base_lr + (self.config.lr_max - self.base_lr) * max(0.0, 1.0 - x)
        if name == "cosine":
            start, length = 0, self.total
        else:  # cosine_restarts
            segment = min(bisect.bisect_right(self.boundaries, step) - 1, len(self.boundaries) - 2)
            start = self.boundaries[segment]
            length = self.boundaries[segment + 1] - start
        t = min(step - start, length)
        return lr_min + (self.base_lr - lr_min) * (1 + math.cos(math.pi * t / length)) / 2

    def observe(self, value: float, mode: str = "max") -> None:
        """Report a validation ``value`` (``mode`` max: higher is better); only ``plateau`` reacts.

        The rule follows ``torch.optim.lr_scheduler.ReduceLROnPlateau`` with relative threshold:
        the rate drops by ``factor`` (not below ``lr_min``) once more than ``patience``
        consecutive validations failed to improve on the best by more than ``threshold``.
        """
        if self.config.name != "plateau":
            return
        threshold = self.config.threshold
        if self.best is None:
            improved = True
        elif mode == "max":
            improved = value > self.best * (1 + threshold)
        else:
            improved = value < self.best * (1 - threshold)
        if improved:
            self.best, self.bad = value, 0
            return
        self.bad += 1
        if self.bad > self.config.patience:
            self.current = max(self.current * self.config.factor, self.config.lr_min)
            self.bad = 0

    def state_dict(self) -> dict[str, Any]:
        return {"current": self.current, "best": self.best, "bad": self.bad}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current = float(state["current"])
        self.best = None if state["best"] is None else float(state["best"])
        self.bad = int(state["bad"])
