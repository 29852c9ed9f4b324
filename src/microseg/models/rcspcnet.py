"""RC-SPCNet (Xiao et al. 2022): residual contextual network with sub-pixel convolution
upsampling, for membrane (boundary) maps of EM images.

Contracting path: a 3×3 conv-BN-ELU stem and a 2× max pool (1/2), then six residual blocks of
residual units (two 3×3 conv-BN, ELU; see :class:`~microseg.models.blocks.ResidualUnit`). The
first unit of blocks 1 and 2 has stride 2 (1/4, 1/8), so features stay at 1/8 of the input;
blocks 3–6 use dilated convolutions instead of further downsampling. The default widths,
repetitions and dilations follow ResNet-38, the backbone the paper modifies, scaled down.

Contextual skips (``skips`` = k): the outputs of block 4 (k ≥ 1) and block 2 (k = 2) are
projected (1×1 conv-BN) to the width of block 6 and summed with its output — three levels of
context (no dilation, the first and the second dilation rate).

Expansive path: three sub-pixel convolution stages (3×3 conv to 4× the width, 2× pixel shuffle,
BN, ELU) back to full size, then two convolutions with dropout between them (3×3 conv-BN-ELU,
dropout, 1×1 conv to ``out_channels``). The paper's final softmax is not part of the model: it
returns logits, and the softmax is applied by the loss (cross-entropy) or the predictor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import torch
from torch import nn

from microseg.config import Range, check_fields
from microseg.errors import ConfigError
from microseg.models.base import PadMode, SegmentationModel
from microseg.models.blocks import ConvNormAct, PixelShuffle, ResidualUnit, activation, norm_nd

SKIP_SOURCES = (3, 1)   # indices (0-based) of blocks 4 and 2, in the order k adds them


@dataclass
class RCSPCNetConfig:
    in_channels: int = 1
    out_channels: int = 2
    stem_channels: int = 32
    widths: list[int] = field(default_factory=lambda: [32, 64, 128, 128, 256, 256])
    units: list[int] = field(default_factory=lambda: [3, 3, 6, 3, 1, 1])
    dilations: list[int] = field(default_factory=lambda: [1, 1, 2, 2, 4, 4])
    skips: Literal[0, 1, 2] = 2
    decoder_channels: list[int] = field(default_factory=lambda: [128, 64, 32])
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.5
    pad_mode: PadMode = "reflect"

    def validate(self) -> None:
        check_fields(self, "rcspcnet")
        for name in ("widths", "units", "dilations"):
            values = getattr(self, name)
            if len(values) != 6 or min(values) < 1:
                raise ConfigError(f"rcspcnet {name} must list six integers >= 1, got {values}")
        if len(self.decoder_channels) != 3 or min(self.decoder_channels) < 1:
            raise ConfigError("rcspcnet decoder_channels must list three widths >= 1 (one per "
                              f"2× sub-pixel stage), got {self.decoder_channels}")
        if min(self.in_channels, self.out_channels, self.stem_channels) < 1:
            raise ConfigError("rcspcnet in_channels, out_channels and stem_channels must be >= 1")


class SubPixelUp(nn.Sequential):
    """Sub-pixel convolution: 3×3 conv to ``4·out`` channels, 2× pixel shuffle, BN, ELU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.Conv2d(in_channels, 4 * out_channels, 3, padding=1, bias=False),
                         PixelShuffle(2), norm_nd("batch", out_channels, 2), activation("elu"))


class RCSPCNet(SegmentationModel):
    """RC-SPCNet; input ``(N, C, Y, X)``, output ``(N, out_channels, Y, X)`` logits."""

    def __init__(self, config: RCSPCNetConfig):
        config.validate()
        c = config
        super().__init__(in_channels=c.in_channels, dims=2, multiple=8, pad_mode=c.pad_mode)
        unit = dict(norm="batch", act="elu")
        self.stem = nn.Sequential(ConvNormAct(2, c.in_channels, c.stem_channels, **unit),
                                  nn.MaxPool2d(2))
        blocks = []
        channels = c.stem_channels
        for index, (width, repeats, dilation) in enumerate(zip(c.widths, c.units, c.dilations)):
            stride = 2 if index < 2 else 1
            units = [ResidualUnit(2, channels, width, stride=stride, dilation=dilation, **unit)]
            units += [ResidualUnit(2, width, width, dilation=dilation, **unit)
                      for _ in range(repeats - 1)]
            blocks.append(nn.Sequential(*units))
            channels = width
        self.blocks = nn.ModuleList(blocks)
        self.skip_sources = list(SKIP_SOURCES[:c.skips])
        self.context = nn.ModuleList(
            ConvNormAct(2, c.widths[i], channels, 1, norm="batch", act=None)
            for i in self.skip_sources
        )
        self.context_act = activation("elu")
        ups = []
        for width in c.decoder_channels:
            ups.append(SubPixelUp(channels, width))
            channels = width
        self.up = nn.Sequential(*ups)
        self.head = nn.Sequential(ConvNormAct(2, channels, channels, **unit),
                                  nn.Dropout(c.dropout),
                                  nn.Conv2d(channels, c.out_channels, 1))

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        if self.skip_sources:
            for source, project in zip(self.skip_sources, self.context):
                x = x + project(outputs[source])
            x = self.context_act(x)
        return self.head(self.up(x))
