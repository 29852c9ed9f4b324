"""Grow a trained U-Net to more channels per level without changing what it computes.

Function-preserving widening in the spirit of Net2WiderNet (Chen et al., ICLR 2016), with the
added units' *outgoing* weights set to zero instead of replicating existing units: every old
channel keeps its weights, every added channel starts from the wide network's fresh random
initialisation on the old inputs, and no old channel reads an added one. The widened network's
outputs therefore equal the narrow one's (eval and train mode alike: batch norm sees the same
statistics on the old channels), while the added channels receive gradients from the first step.

Supported: U-Nets with VGG blocks, identity bridges and batch (or no) normalisation in the
``down_block`` order, upsampled by ``bilinear`` or ``upconv`` — the layout of the bundled
``default`` model. Other layouts (ResDen concatenations, ASPP, group norm whose grouping a new
width would change) raise :class:`~microseg.errors.ConfigError`.
"""
from __future__ import annotations

from dataclasses import fields

import torch
from torch import nn

from microseg.config import from_dict
from microseg.errors import ConfigError
from microseg.models.unet import UNet, UNetConfig

WIDENABLE_LAYOUT = {"block": "vgg", "bridge": "identity", "aspp": False, "entry_flow": False,
                    "order": "down_block"}
"""Configuration values the widening rules below are written for."""


def check_widenable(narrow: UNetConfig, wide: UNetConfig) -> None:
    """Raise ConfigError unless ``wide`` is ``narrow`` with at least as many base channels in a
    layout :func:`widened_state` supports."""
    for key, value in WIDENABLE_LAYOUT.items():
        if getattr(narrow, key) != value:
            raise ConfigError(f"widening needs a U-Net with {key}={value!r}, the checkpoint has "
                              f"{getattr(narrow, key)!r}")
    if narrow.norm not in ("batch", "none"):
        raise ConfigError(f"widening needs batch or no normalisation, the checkpoint has "
                          f"{narrow.norm!r} (a new width would regroup group norm)")
    if narrow.up not in ("bilinear", "upconv"):
        raise ConfigError(f"widening needs bilinear or upconv upsampling, the checkpoint has "
                          f"{narrow.up!r}")
    differing = [f.name for f in fields(UNetConfig) if f.name != "base_channels"
                 and getattr(narrow, f.name) != getattr(wide, f.name)]
    if differing:
        raise ConfigError(f"widening changes base_channels only; the configured model also "
                          f"differs from the checkpoint in {differing}")
    if wide.base_channels < narrow.base_channels:
        raise ConfigError(f"widening cannot narrow: base_channels {narrow.base_channels} → "
                          f"{wide.base_channels}")


def widened_state(narrow: UNet, wide: UNet) -> dict[str, torch.Tensor]:
    """A state dict for ``wide`` that computes what ``narrow`` does (see the module docstring).

    Both are U-Nets made by :func:`microseg.models.build` (which records their ``config``).
    Fresh values come from ``wide``'s own initialisation; neither model is modified.
    """
    for model in (narrow, wide):
        if getattr(model, "arch", None) != "unet":
            raise ConfigError(f"widening needs U-Nets, got {getattr(model, 'arch', model)!r}")
    check_widenable(from_dict(UNetConfig, narrow.config), from_dict(UNetConfig, wide.config))
    old_state = narrow.state_dict()
    state = {}
    for name, fresh in wide.state_dict().items():
        old = old_state[name]
        if old.shape == fresh.shape:
            state[name] = old.clone()
        elif fresh.ndim == 1:       # bias, norm scale / shift / running statistics
            value = fresh.clone()
            value[:old.shape[0]] = old
            state[name] = value
        else:
            state[name] = _widened_weight(name, old, fresh, wide)
    return state


def _widened_weight(name: str, old: torch.Tensor, fresh: torch.Tensor,
                    wide: UNet) -> torch.Tensor:
    """Convolution weight ``old`` placed in a copy of ``fresh``: old outputs × old inputs copied,
    added inputs zeroed, added outputs keeping their fresh weights on the old inputs."""
    module = wide.get_submodule(name.rsplit(".", 1)[0])
    transposed = isinstance(module, (nn.ConvTranspose2d, nn.ConvTranspose3d))
    value = fresh.clone()
    rows = value.transpose(0, 1) if transposed else value     # view: (out, in, *kernel)
    old_rows = old.transpose(0, 1) if transposed else old
    inputs = _old_input_positions(name, old_rows.shape[1], rows.shape[1])
    added = torch.ones(rows.shape[1], dtype=torch.bool)
    added[inputs] = False
    rows[:, added] = 0
    rows[:old_rows.shape[0]][:, inputs] = old_rows
    return value


def _old_input_positions(name: str, old_inputs: int, new_inputs: int) -> torch.Tensor:
    """Where each old input channel of weight ``name`` sits among the widened inputs: the first
    convolution of a decoder block reads [upsampled, bridged] halves, everything else one run."""
    if name.startswith("decoder.") and name.split(".")[2] == "0":
        half, new_half = old_inputs // 2, new_inputs // 2
        return torch.cat([torch.arange(half), new_half + torch.arange(half)])
    return torch.arange(old_inputs)
