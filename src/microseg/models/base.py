"""The common frame of every model: check the input, pad it to the size the network needs, run the
network, crop the output back to the input size."""
from __future__ import annotations

import typing
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from microseg.config import check_choice
from microseg.errors import InputError

PadMode = Literal["reflect", "replicate", "constant"]
PAD_MODES = typing.get_args(PadMode)
Output = torch.Tensor | dict[str, torch.Tensor]


def pad_to_multiple(x: torch.Tensor, multiple: int,
                    mode: str = "reflect") -> tuple[torch.Tensor, tuple[slice, ...]]:
    """Pad the spatial axes of ``(N, C, *spatial)`` up to multiples of ``multiple``.

    The padding is split evenly between both sides (the extra pixel goes after). ``reflect``
    falls back to ``replicate`` when an axis is too short to reflect (padding ≥ its length).
    Returns the padded tensor and the slices that crop a same-size output back to the input.
    """
    check_choice("pad_mode", mode, PAD_MODES)
    spatial = x.shape[2:]
    total = [(-size) % multiple for size in spatial]
    before = [t // 2 for t in total]
    crop = tuple(slice(b, b + size) for b, size in zip(before, spatial))
    if not any(total):
        return x, crop
    if mode == "reflect" and any(t - b >= size for t, b, size in zip(total, before, spatial)):
        mode = "replicate"
    pads: list[int] = []
    for t, b in zip(reversed(total), reversed(before)):
        pads += [b, t - b]
    return F.pad(x, pads, mode=mode), crop


def crop_output(y: Output, crop: tuple[slice, ...]) -> Output:
    """Apply the crop from :func:`pad_to_multiple` to a tensor or every tensor of a dict."""
    if isinstance(y, dict):
        return {name: value[(..., *crop)] for name, value in y.items()}
    return y[(..., *crop)]


class SegmentationModel(nn.Module):
    """Base class: ``forward`` takes ``(N, C, Y, X)`` (or ``(N, C, Z, Y, X)`` when ``dims=3``) of
    any size, pads it to ``multiple``, calls :meth:`forward_padded` and crops the result back.

    Subclasses set ``in_channels``, ``dims``, ``multiple`` and ``pad_mode`` via ``__init__`` and
    implement :meth:`forward_padded`. :func:`microseg.models.build` attaches ``arch`` and
    ``config`` so that ``build(model.arch, **model.config)`` rebuilds the same architecture.

    The padding amounts are computed from the input shape in Python, so a traced export (ONNX,
    TorchScript trace) is specific to the input size it was traced with.
    """

    arch: str
    config: dict[str, Any]

    def __init__(self, *, in_channels: int, dims: int, multiple: int, pad_mode: str):
        super().__init__()
        check_choice("pad_mode", pad_mode, PAD_MODES)
        self.in_channels = in_channels
        self.dims = dims
        self.multiple = multiple
        self.pad_mode = pad_mode

    def forward(self, x: torch.Tensor) -> Output:
        self.check_input(x)
        x = self.prepare(x)
        padded, crop = pad_to_multiple(x, self.multiple, self.pad_mode)
        return crop_output(self.forward_padded(padded), crop)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise :class:`InputError` unless ``x`` is ``(N, in_channels, *spatial)``."""
        axes = "(N, C, Y, X)" if self.dims == 2 else "(N, C, Z, Y, X)"
        if x.dim() != self.dims + 2:
            raise InputError(None, f"{type(self).__name__} expects a {axes} tensor, got shape "
                                   f"{tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise InputError(None, f"{type(self).__name__} was built for {self.in_channels} "
                                   f"input channel(s), got {x.shape[1]} (shape {tuple(x.shape)})")

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Hook run on the unpadded input (e.g. to append coordinate channels)."""
        return x

    def forward_padded(self, x: torch.Tensor) -> Output:
        raise NotImplementedError
