"""Training losses, looked up by name: ``build(name, **params)`` returns an ``nn.Module`` called as
``loss(prediction, target[, weight])`` → scalar tensor, ``weight`` an optional per-pixel weight
map ``(N, 1, *spatial)`` (0 = ignored).

Names: ``ce``, ``weighted_ce`` (class weights 1, 10, 5 for bg, boundary, cell), ``jreg``,
``dice``, ``focal``, ``bce``, ``mse``, ``sum`` (weighted terms on one output) and ``heads``
(weighted terms on a multi-head model's dict output). Class targets ignore ``ignore_index=-100``
pixels; map targets ignore pixels whose weight is 0.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from microseg.losses import classes, combine, maps, overlap  # noqa: F401  (register the losses)
from microseg.losses.base import IGNORE_INDEX, LOSSES, build_loss
from microseg.losses.classes import XBNET_CLASS_WEIGHTS, CrossEntropyLoss, JRegularization
from microseg.losses.combine import HeadsLoss, WeightedSum, apply_loss
from microseg.losses.maps import BCELoss, MSELoss
from microseg.losses.overlap import DiceLoss, FocalLoss


def available() -> list[str]:
    """Names of the registered losses."""
    return LOSSES.available()


def build(name: str, **params: Any) -> nn.Module:
    """Build loss ``name`` with ``params``; an unknown name raises ``ConfigError``."""
    return build_loss(name, params)


__all__ = [
    "BCELoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "HeadsLoss",
    "IGNORE_INDEX",
    "JRegularization",
    "MSELoss",
    "WeightedSum",
    "XBNET_CLASS_WEIGHTS",
    "apply_loss",
    "available",
    "build",
]
