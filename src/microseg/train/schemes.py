"""Multi-dataset training schemes of XB-Net (Guo et al. 2021, section 4.1).

A scheme decides, for each optimiser step, which datasets give a minibatch to that step:

* ``mix`` — all datasets pooled into one; each minibatch drawn from the pool (one stream);
* ``seq`` — one dataset after another, the run split into equal stages in dataset order;
* ``fix`` — minibatches drawn in turn in the fixed dataset order; ``repeats`` (one count per
  dataset) gives a fixed proportion, e.g. ``[2, 1]`` → 0, 0, 1, 0, 0, 1, …;
* ``shu`` — in turn, the order shuffled anew every round of ``K`` steps;
* ``cho`` — each step picks one dataset uniformly at random;
* ``acc`` — one minibatch from every dataset per step, gradients summed (not averaged) before a
  single optimiser step (XB-Net's Algorithm 2).

Every plan is a pure function of the step and the seed, so a resumed run draws exactly the same
datasets as an uninterrupted one.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Literal

import numpy as np

from microseg.config import Count, check_fields
from microseg.errors import ConfigError

SchemeName = Literal["mix", "seq", "fix", "shu", "cho", "acc"]
SCHEMES = typing.get_args(SchemeName)
_SHU, _CHO = 1, 2  # stream tags for the scheme's own random draws


@dataclass
class SchemeConfig:
    """``name``: one of ``mix``, ``seq``, ``fix``, ``shu``, ``cho``, ``acc``; ``repeats``:
    per-dataset minibatch counts per round for ``fix`` (default one each)."""

    name: SchemeName = "mix"
    repeats: list[Count] | None = None

    def __post_init__(self) -> None:
        check_fields(self, "scheme")
        if self.repeats is not None:
            if self.name != "fix":
                raise ConfigError("scheme.repeats applies to scheme 'fix' only")
            if not self.repeats:
                raise ConfigError("scheme.repeats must list counts >= 1, got []")


def draws_per_step(name: str, n_datasets: int) -> int:
    """Minibatches one optimiser step consumes under scheme ``name``: all datasets for ``acc``."""
    return n_datasets if name == "acc" else 1


class Scheme:
    """Plans which batch streams feed each optimiser step of a ``total``-step run.

    ``streams`` is the number of batch streams the trainer must provide: 1 for ``mix`` (the
    pooled data), else one per dataset, in dataset order.
    """

    def __init__(self, config: SchemeConfig, n_datasets: int, total: int, seed: int = 0):
        if n_datasets < 1:
            raise ConfigError("a training scheme needs at least one dataset")
        if config.repeats is not None and len(config.repeats) != n_datasets:
            raise ConfigError(
                f"scheme.repeats has {len(config.repeats)} entries for {n_datasets} datasets"
            )
        self.name = config.name
        self.n = n_datasets
        self.total = int(total)
        self.seed = int(seed)
        repeats = config.repeats or [1] * n_datasets
        self.order = [k for k, r in enumerate(repeats) for _ in range(int(r))]

    @property
    def streams(self) -> int:
        return 1 if self.name == "mix" else self.n

    @property
    def draws_per_step(self) -> int:
        """Minibatches consumed by one optimiser step."""
        return draws_per_step(self.name, self.n)

    def plan(self, step: int) -> list[int]:
        """Stream indices whose minibatches make up optimiser step ``step`` (0-based)."""
        if self.name == "mix":
            return [0]
        if self.name == "acc":
            return list(range(self.n))
        if self.name == "seq":
            return [min(step * self.n // self.total, self.n - 1)]
        if self.name == "fix":
            return [self.order[step % len(self.order)]]
        if self.name == "shu":
            order = np.random.default_rng([self.seed, _SHU, step // self.n]).permutation(self.n)
            return [int(order[step % self.n])]
        return [int(np.random.default_rng([self.seed, _CHO, step]).integers(self.n))]  # cho
