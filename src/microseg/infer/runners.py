"""The network as a function ``(N, C, *tile) → (N, ΣK, *tile)`` of numpy arrays: raw outputs of
every head activated and concatenated along the channel axis, run by PyTorch.

:class:`MapsNetwork` is the one module both backends run (PyTorch directly, ONNX Runtime after
export), so they compute the same maps.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch import nn

from microseg.config import check_choice
from microseg.infer.activation import activate
from microseg.infer.fusion import conv_before_upsample, fold_batch_norm

PRECISIONS = ("float32", "bfloat16")
Heads = list[tuple[str | None, int]]   # (head name, channels); name None for a one-output model


class MapsNetwork(nn.Module):
    """``model`` followed by each head's activation; output ``(N, ΣK, *spatial)`` with the heads
    concatenated in ``heads`` order. Inference only: built in eval mode."""

    def __init__(self, model: nn.Module, heads: Heads, activations: Mapping[str | None, str]):
        super().__init__()
        self.model = model
        self.head_names = [name for name, _ in heads]
        self.activations = [activations[name] for name in self.head_names]
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x)   # activations in float32 even when the network ran in bfloat16
        if not isinstance(y, dict):
            return activate(y.float(), self.activations[0])
        return torch.cat([activate(y[name].float(), act)
                          for name, act in zip(self.head_names, self.activations)], dim=1)


def probe_heads(model: nn.Module, in_channels: int, dims: int, divisor: int) -> Heads:
    """Output heads of ``model`` and their channel counts, from one forward pass on a small
    blank input (``divisor`` pixels along each spatial axis, at least 8) on the device of the
    model's parameters."""
    size = max(divisor, 8)
    parameter = next(model.parameters(), None)
    x = torch.zeros((1, in_channels) + (size,) * dims,
                    device=None if parameter is None else parameter.device)
    with torch.inference_mode():
        y = model(x)
    if isinstance(y, dict):
        return [(str(name), int(value.shape[1])) for name, value in y.items()]
    return [(None, int(y.shape[1]))]


def memory_format(dims: int) -> torch.memory_format:
    return torch.channels_last if dims == 2 else torch.channels_last_3d


class TorchRunner:
    """Run a :class:`MapsNetwork` on numpy batches under ``torch.inference_mode``, with batch
    normalisation folded into the convolutions and 1×1 convolutions moved before the upsampling
    they follow (:mod:`microseg.infer.fusion`; on a copy, moved to ``device``),
    optionally in channels-last memory layout (much faster convolutions on CPU) and in
    ``precision`` ``float32`` or ``bfloat16`` (autocast; float32 maps come back either way).
    Batches go to ``device`` and the maps come back as numpy arrays."""

    def __init__(self, network: MapsNetwork, dims: int, channels_last: bool = True,
                 precision: str = "float32", device: torch.device | str = "cpu"):
        check_choice("precision", precision, PRECISIONS)
        self.device = torch.device(device)
        self.network, _ = conv_before_upsample(fold_batch_norm(network)[0])
        self.network.to(self.device)
        self.format = memory_format(dims) if channels_last else None
        self.precision = precision
        if self.format is not None:
            self.network.to(memory_format=self.format)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self.format is not None:
            x = x.contiguous(memory_format=self.format)
        with torch.inference_mode(), torch.autocast(
                self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            y = self.network(x)
        return y.float().contiguous().cpu().numpy()
