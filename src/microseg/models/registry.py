"""The catalogue of architectures: name → builder, paper presets, and parameter counting.

>>> model = build("unet", in_channels=2, out_channels=3, depth=3, base_channels=8)
>>> rebuilt = build(model.arch, **model.config)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from microseg.config import from_dict, to_dict
from microseg.models.base import SegmentationModel
from microseg.models.efficientcellseg import EfficientCellSeg, EfficientCellSegConfig
from microseg.models.panoptic import PanopticConfig, PanopticNet
from microseg.models.rcspcnet import RCSPCNet, RCSPCNetConfig
from microseg.models.unet import XBNET, UNet, UNetConfig
from microseg.registry import Registry

MODELS: Registry[SegmentationModel] = Registry("model")

# Settings that initialise weights rather than define the architecture: recorded as None in
# ``model.config`` so a rebuild (e.g. from a checkpoint) never needs the original file.
INITIALISERS = ("encoder_weights",)


def _register(name: str, config_cls: type, model_cls: Callable[[Any], SegmentationModel],
              defaults: dict[str, Any] | None = None) -> None:
    def builder(**config: Any) -> SegmentationModel:
        cfg = from_dict(config_cls, {**(defaults or {}), **config}, where=name)
        model = model_cls(cfg)
        recorded = to_dict(cfg)
        for key in INITIALISERS:
            if key in recorded:
                recorded[key] = None
        model.config = recorded
        return model

    builder.__doc__ = f"Build {name!r} from keyword arguments of {config_cls.__name__}."
    MODELS.register(name)(builder)


_register("unet", UNetConfig, UNet)
_register("xbnet", UNetConfig, UNet, XBNET)
_register("efficientcellseg", EfficientCellSegConfig, EfficientCellSeg)
_register("rcspcnet", RCSPCNetConfig, RCSPCNet)
_register("panoptic", PanopticConfig, PanopticNet)


def available() -> list[str]:
    """Names accepted by :func:`build`."""
    return MODELS.available()


def build(name: str, **config: Any) -> SegmentationModel:
    """Build architecture ``name`` with keyword ``config`` (unknown keys or bad values raise
    :class:`ConfigError`). The model carries ``arch`` and ``config`` (every argument, defaults
    included) so that ``build(model.arch, **model.config)`` rebuilds the same architecture."""
    model = MODELS.build(name, **config)
    model.arch = name
    return model


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter values in ``module`` (only those requiring grad if asked)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
