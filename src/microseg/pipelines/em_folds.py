"""Cross-validation plan for boundary networks on an annotated EM stack (ISBI 2012: 20 sections).

The sections are cut into ``n_folds`` contiguous folds. Scoring fold ``f`` needs

* an *outer* network trained without fold ``f`` (its early stopping watches a seeded part of
  its own training sections, never fold ``f``), whose maps of fold ``f`` are scored;
* edge random forests fitted on maps of the other folds that look like maps of unseen sections:
  each other fold ``g`` is mapped by the *pair* network trained without folds ``f`` and ``g``,
  which has seen neither the fold being mapped nor the fold being scored (a pair network serves
  both of its folds, so ``k`` folds need ``k`` outer and ``k (k - 1) / 2`` pair networks).

:func:`fold_networks` lists the networks that given folds need and :func:`network_train_config`
turns a training configuration into the one of such a network.

>>> [n.name for n in fold_networks(20, 4, [0])]
['net_f0', 'net_f01', 'net_f02', 'net_f03']
>>> forest_maps(0, 4)
[('net_f01', 1), ('net_f02', 2), ('net_f03', 3)]
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Sequence

from microseg.errors import ConfigError

#: Split names of a fold network's configuration (the held-out folds are pinned to ``heldout``)
TRAIN, VAL, HELDOUT = "train", "val", "heldout"


def fold_sections(n_sections: int, n_folds: int) -> list[range]:
    """Contiguous folds of ``n_sections`` sections (sizes differ by at most one).

    >>> fold_sections(20, 4)
    [range(0, 5), range(5, 10), range(10, 15), range(15, 20)]
    """
    if not 2 <= n_folds <= n_sections:
        raise ConfigError(f"folds: need 2 <= folds <= {n_sections} sections, got {n_folds}")
    bounds = [round(i * n_sections / n_folds) for i in range(n_folds + 1)]
    return [range(a, b) for a, b in zip(bounds, bounds[1:])]


@dataclass(frozen=True)
class FoldNetwork:
    """A network of the plan: ``held_out`` folds (one: outer network, two: pair network), the
    sections it may train on (``trainable``: training and its seeded validation part) and the
    folds whose maps it makes (``maps``: its held-out folds)."""

    name: str
    held_out: tuple[int, ...]
    trainable: tuple[int, ...]

    @property
    def maps(self) -> tuple[int, ...]:
        return self.held_out


def _network(held_out: Sequence[int], folds: list[range]) -> FoldNetwork:
    held = tuple(sorted(held_out))
    trainable = tuple(z for f, fold in enumerate(folds) if f not in held for z in fold)
    return FoldNetwork("net_f" + "".join(map(str, held)), held, trainable)


def fold_networks(n_sections: int, n_folds: int, folds: Sequence[int]) -> list[FoldNetwork]:
    """The networks needed to score ``folds`` (outer networks first, then pair networks)."""
    sections = fold_sections(n_sections, n_folds)
    chosen = sorted(set(folds))
    if not chosen or chosen[0] < 0 or chosen[-1] >= n_folds:
        raise ConfigError(f"folds: choose fold ids among 0..{n_folds - 1}, got {list(folds)}")
    outer = [_network([f], sections) for f in chosen]
    pairs = {tuple(sorted((f, g))) for f in chosen for g in range(n_folds) if g != f}
    return outer + [_network(p, sections) for p in sorted(pairs)]


def forest_maps(fold: int, n_folds: int) -> list[tuple[str, int]]:
    """``(network name, fold g)`` for every other fold ``g``: the maps that train the forests
    used on ``fold``."""
    return [("net_f" + "".join(map(str, sorted((fold, g)))), g)
            for g in range(n_folds) if g != fold]


def network_train_config(base: dict[str, Any], network: FoldNetwork, n_sections: int,
                         n_folds: int, *, val_fraction: float = 0.2,
                         iterations: int | None = None, output: str | None = None
                         ) -> dict[str, Any]:
    """``base`` (a training configuration as loaded from YAML, with one ``isbi`` source) for
    ``network``: its held-out sections are pinned to split ``heldout``, the others divided into
    ``train`` and a validation part of ``val_fraction`` (whole sections, seeded by the network's
    held-out folds); ``iterations`` replaces the configured length.

    Raises :class:`ConfigError` when ``base`` does not have exactly one ``isbi`` source.
    """
    config = copy.deepcopy(base)
    sources = config.get("data", {}).get("sources", [])
    if len(sources) != 1 or sources[0].get("kind") != "isbi":
        raise ConfigError("fold training needs a configuration with exactly one isbi source")
    source = sources[0]
    source.pop("ranges", None)
    width = max(2, len(str(n_sections - 1)))                    # isbi group names: z05, …
    held = [f"z{z:0{width}d}" for f, fold in enumerate(fold_sections(n_sections, n_folds))
            if f in network.held_out for z in fold]
    source["split"] = {"method": "group", "fractions": {TRAIN: 1.0 - val_fraction,
                                                        VAL: val_fraction},
                       "seed": sum(10 ** i * (f + 1) for i, f in enumerate(network.held_out)),
                       "fixed": {HELDOUT: held}}
    config["train_split"], config["val_split"] = TRAIN, VAL
    if iterations is not None:
        config["iterations"] = int(iterations)
        config.pop("epochs", None)
    if output is not None:
        config["output"] = output
    return config
