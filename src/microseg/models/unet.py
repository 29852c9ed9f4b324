"""The generalised U-Net of Guo et al. (XB-Net paper, Fig. 1) in 2D and 3D.

The network has ``depth`` resolution levels; level ``i`` is ``base_channels · 2^i`` wide and runs
at ``1 / 2^i`` of the input size. Every level's output is bridged to the decoder except the
deepest one, which feeds the bottleneck (optionally an ASPP module). Two encoder orders cover the
paper's variants:

``down_block`` (original U-Net)
    level 0 = [entry flow] + block(in → C0); level i = downsample, then block(C(i-1) → Ci).
    ``maxpool`` keeps the width; ``conv_stride`` is a 3×3 stride-2 conv-norm-act, also keeping it.
``block_down`` (XB-Net / ResDen, paper §4.3)
    level 0 = entry flow (or one 3×3 conv-norm-act) from the input to C0; level i = block at
    the previous resolution, then a downsampling that widens to Ci (``conv_stride``: 3×3 stride-2
    conv-norm-act C(i-1) → Ci; ``maxpool``: the block widens to Ci, then the pool). The bridge
    is therefore taken after each downsampling, as in the paper.

Decoder level i: 2× upsampling of the level below (``upconv``, ``bilinear`` or ``pixelshuffle``),
concatenated with the bridged encoder features (``identity`` or a 1×1 conv-norm-act halving
them), then a block back to Ci. A 1×1 conv gives ``out_channels`` logits at the input size, or,
with ``heads = {name: outputs}``, one 1×1 conv per head on the same features and a dict of outputs
(e.g. a ``pixelwise`` 3-class head next to an ``inner_distance`` one).

``space_to_depth = s > 1`` (2D) folds every s×s pixel block into channels before the first level
(pixel unshuffle) and unfolds ``out_channels · s²`` head outputs back to full resolution (pixel
shuffle): the whole U-Net then runs on 1/s² of the pixels, which is what makes large images fast on
a CPU, while the output keeps full resolution.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import torch
from torch import nn

from microseg.config import check_fields
from microseg.errors import ConfigError
from microseg.models.base import PadMode, SegmentationModel
from microseg.models.blocks import (
    ASPP,
    Activation,
    ConvNormAct,
    EncoderBlock,
    EntryFlow,
    Norm,
    Upsampler,
    conv_nd,
    encoder_block,
    max_pool_nd,
    upsampler,
)


@dataclass
class UNetConfig:
    """Every argument of the generalised U-Net (see the module docstring for the layout)."""

    in_channels: int = 1
    out_channels: int = 3
    heads: dict[str, int] | None = None  # outputs per head, replacing out_channels
    dims: Literal[2, 3] = 2
    depth: int = 5
    base_channels: int = 64
    block: EncoderBlock = "vgg"
    norm: Norm = "batch"
    groups: int = 8                    # group-norm groups
    activation: Activation = "relu"
    down: Literal["maxpool", "conv_stride"] = "maxpool"
    up: Upsampler = "upconv"
    order: Literal["down_block", "block_down"] = "down_block"
    bridge: Literal["identity", "conv"] = "identity"  # conv: 1×1 conv-norm-act to half width
    aspp: bool = False
    aspp_rates: list[int] = field(default_factory=lambda: [1, 6, 12, 18])
    aspp_channels: int | None = None   # per branch; default half the bottleneck width
    aspp_skip: bool = False
    entry_flow: bool = False
    growth: float = 0.25               # ResDen growth rate as a fraction of the block width
    space_to_depth: int = 1            # 2D only: run the U-Net at 1/s resolution (see module doc)
    pad_mode: PadMode = "reflect"

    def validate(self) -> None:
        check_fields(self, "unet")
        for name in ("in_channels", "out_channels", "base_channels", "groups"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"unet {name} must be >= 1, got {getattr(self, name)}")
        if self.heads is not None and (not self.heads or min(self.heads.values()) < 1):
            raise ConfigError(f"unet heads must map head names to output counts >= 1, got "
                              f"{self.heads!r}")
        if self.depth < 2:
            raise ConfigError(f"unet depth must be >= 2 (one downsampling), got {self.depth}")
        if self.space_to_depth < 1 or (self.space_to_depth > 1 and self.dims != 2):
            raise ConfigError(f"unet space_to_depth must be 1, or >= 1 for dims=2; got "
                              f"{self.space_to_depth} with dims={self.dims}")
        if self.bridge == "conv" and self.base_channels < 2:
            raise ConfigError("a conv bridge halves the width: base_channels must be >= 2")


class UNet(SegmentationModel):
    """Generalised U-Net; input ``(N, C, Y, X)`` or ``(N, C, Z, Y, X)``, output logits of the
    same spatial size with ``out_channels`` channels (a dict head → logits with ``heads``)."""

    def __init__(self, config: UNetConfig):
        config.validate()
        c = config
        s = c.space_to_depth
        super().__init__(in_channels=c.in_channels, dims=c.dims,
                         multiple=s * 2 ** (c.depth - 1), pad_mode=c.pad_mode)
        self.space_to_depth = s
        widths = [c.base_channels * 2**i for i in range(c.depth)]
        c = replace(c, in_channels=c.in_channels * s * s, out_channels=c.out_channels * s * s)
        common = dict(norm=c.norm, act=c.activation, groups=c.groups)

        def block(cin: int, cout: int) -> nn.Module:
            return encoder_block(c.block, c.dims, cin, cout, growth=c.growth, **common)

        levels: list[nn.Module] = []
        if c.order == "down_block":
            stem = block(widths[0] if c.entry_flow else c.in_channels, widths[0])
            levels.append(nn.Sequential(EntryFlow(c.dims, c.in_channels, widths[0], **common),
                                        stem) if c.entry_flow else stem)
            for i in range(1, c.depth):
                down = (max_pool_nd(c.dims) if c.down == "maxpool" else
                        ConvNormAct(c.dims, widths[i - 1], widths[i - 1], stride=2, **common))
                levels.append(nn.Sequential(down, block(widths[i - 1], widths[i])))
        else:
            levels.append(EntryFlow(c.dims, c.in_channels, widths[0], **common) if c.entry_flow
                          else ConvNormAct(c.dims, c.in_channels, widths[0], **common))
            for i in range(1, c.depth):
                if c.down == "maxpool":
                    levels.append(nn.Sequential(block(widths[i - 1], widths[i]),
                                                max_pool_nd(c.dims)))
                else:
                    levels.append(nn.Sequential(
                        block(widths[i - 1], widths[i - 1]),
                        ConvNormAct(c.dims, widths[i - 1], widths[i], stride=2, **common)))
        self.encoder = nn.ModuleList(levels)

        self.bottleneck = (ASPP(c.dims, widths[-1], widths[-1], rates=c.aspp_rates,
                                branch_channels=c.aspp_channels, skip=c.aspp_skip, **common)
                           if c.aspp else nn.Identity())

        self.ups = nn.ModuleList()
        self.bridges = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i in reversed(range(c.depth - 1)):
            up, up_channels = upsampler(c.up, c.dims, widths[i + 1], widths[i], **common)
            if c.bridge == "conv":
                bridge: nn.Module = ConvNormAct(c.dims, widths[i], widths[i] // 2, 1, **common)
                bridge_channels = widths[i] // 2
            else:
                bridge, bridge_channels = nn.Identity(), widths[i]
            self.ups.append(up)
            self.bridges.append(bridge)
            self.decoder.append(block(up_channels + bridge_channels, widths[i]))
        self.heads: nn.ModuleDict | None = None
        if c.heads is None:
            self.head = conv_nd(c.dims, widths[0], c.out_channels, 1)
        else:
            self.heads = nn.ModuleDict({name: conv_nd(c.dims, widths[0], k * s * s, 1)
                                        for name, k in c.heads.items()})

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        if self.space_to_depth > 1:
            x = nn.functional.pixel_unshuffle(x, self.space_to_depth)
        skips = []
        for level in self.encoder:
            x = level(x)
            skips.append(x)
        x = self.bottleneck(skips.pop())
        for up, bridge, block in zip(self.ups, self.bridges, self.decoder):
            x = block(torch.cat([up(x), bridge(skips.pop())], dim=1))
        if self.heads is not None:
            return {name: self._full_resolution(head(x)) for name, head in self.heads.items()}
        return self._full_resolution(self.head(x))

    def _full_resolution(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the space-to-depth folding of head outputs (no-op when ``space_to_depth`` is 1)."""
        if self.space_to_depth > 1:
            x = nn.functional.pixel_shuffle(x, self.space_to_depth)
        return x


XBNET = dict(
    in_channels=1, out_channels=3, dims=2, depth=5, base_channels=32, block="resden",
    norm="group", groups=8, activation="relu", down="conv_stride", up="pixelshuffle",
    order="block_down", bridge="conv", aspp=True, aspp_rates=[1, 6, 12, 18], aspp_channels=None,
    aspp_skip=True, entry_flow=True, growth=0.25,
)
"""XB-Net (paper §5.3, Fig. 8): ResDen blocks with growth C/4, stride-2 conv downsampling,
pixel-shuffle upsampling, 1×1 conv bridges, ASPP with a skip at the 1/16 bottleneck, group norm
(8 groups), an entry-flow block and 32 channels at full resolution; 1 grey channel → 3 classes
(background, boundary, cell)."""
