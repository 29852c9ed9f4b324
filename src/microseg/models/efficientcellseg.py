"""EfficientCellSeg (Wagner & Rohr 2022): a truncated EfficientNet encoder and a tiny decoder.

Encoder (built with timm, never downloaded): the stem, the first five stages and the first
(expansion) convolution of the sixth stage — for EfficientNet-B5 that is 1056 channels at 1/16.
Four skips feed the decoder: the input image (full size), the activation after the first
depthwise convolution (1/2), and the expansion activations of the first blocks of stages 3 and 4
(1/4, 1/8). Decoder: four blocks of [bilinear 2× upsampling, concatenation with the skip, two
3×3 conv-BN-ReLU] with ``decoder_channels`` = [64, 48, 32, 16], then a 1×1 conv to the logits.

The paper resizes every image to 384² first; here any size works (padded to a multiple of 16
inside), so resize to the model's scale in preprocessing. The paper's single output is a
foreground map trained with a Dice loss on ``sigmoid(logits)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from microseg.config import check_fields
from microseg.errors import ConfigError
from microseg.models.base import PadMode, SegmentationModel
from microseg.models.blocks import VGGBlock
from microseg.models.weights import load_encoder_weights

Encoder = Literal["efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
                  "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7"]


@dataclass
class EfficientCellSegConfig:
    in_channels: int = 3
    out_channels: int = 1
    encoder: Encoder = "efficientnet_b5"
    decoder_channels: list[int] = field(default_factory=lambda: [64, 48, 32, 16])
    encoder_weights: str | None = None   # local timm/torchvision state dict (e.g. ImageNet)
    pad_mode: PadMode = "reflect"

    def validate(self) -> None:
        check_fields(self, "efficientcellseg")
        if len(self.decoder_channels) != 4 or min(self.decoder_channels) < 1:
            raise ConfigError("efficientcellseg decoder_channels must be four widths >= 1 "
                              f"(one per skip), got {self.decoder_channels}")
        if self.in_channels < 1 or self.out_channels < 1:
            raise ConfigError("efficientcellseg in_channels and out_channels must be >= 1")


class ExpansionConv(nn.Module):
    """The 1×1 expansion conv + BN-activation of an inverted-residual block (timm names kept)."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.conv_pw = block.conv_pw
        self.bn1 = block.bn1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn1(self.conv_pw(x))


def _depthwise_head(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return block.bn1(block.conv_dw(x))


def _depthwise_tail(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return block.bn2(block.conv_pw(block.se(block.aa(x))))


def _inverted_head(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return block.bn1(block.conv_pw(x))


def _inverted_tail(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return block.bn3(block.conv_pwl(block.se(block.aa(block.bn2(block.conv_dw(x))))))


class EfficientNetEncoder(nn.Module):
    """Truncated timm EfficientNet; ``forward`` returns the skips ``[input, 1/2, 1/4, 1/8]`` and
    the 1/16 expansion features. Module names follow timm so timm state dicts load as they are.
    """

    # stage → (head, tail) of its first block, whose inner activation (head output) is a skip
    TAPS = {0: (_depthwise_head, _depthwise_tail), 2: (_inverted_head, _inverted_tail),
            3: (_inverted_head, _inverted_tail)}

    def __init__(self, name: str, in_channels: int):
        super().__init__()
        import timm

        net = timm.create_model(name, pretrained=False, in_chans=in_channels)
        self.conv_stem = net.conv_stem
        self.bn1 = net.bn1
        self.blocks = nn.Sequential(*net.blocks[:5], nn.Sequential(ExpansionConv(net.blocks[5][0])))
        for stage in self.TAPS:
            first = self.blocks[stage][0]
            if first.has_skip or getattr(first, "conv_s2d", None) is not None:
                raise ConfigError(f"{name}: block {stage}.0 has an unexpected layout for a skip")
        self.skip_channels = [in_channels, net.blocks[0][0].bn1.num_features,
                              net.blocks[2][0].bn1.num_features,
                              net.blocks[3][0].bn1.num_features]
        self.out_channels = net.blocks[5][0].bn1.num_features

    def forward(self, image: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        skips = [image]
        x = self.bn1(self.conv_stem(image))
        for index, stage in enumerate(self.blocks):
            if index in self.TAPS:
                head, tail = self.TAPS[index]
                inner = head(stage[0], x)
                skips.append(inner)
                x = tail(stage[0], inner)
                for block in stage[1:]:
                    x = block(x)
            else:
                x = stage(x)
        return skips, x


class EfficientCellSeg(SegmentationModel):
    """EfficientCellSeg; input ``(N, C, Y, X)``, output ``(N, out_channels, Y, X)`` logits."""

    def __init__(self, config: EfficientCellSegConfig):
        config.validate()
        super().__init__(in_channels=config.in_channels, dims=2, multiple=16,
                         pad_mode=config.pad_mode)
        self.encoder = EfficientNetEncoder(config.encoder, config.in_channels)
        if config.encoder_weights is not None:
            load_encoder_weights(self.encoder, config.encoder_weights)
        blocks = []
        channels = self.encoder.out_channels
        for skip, width in zip(reversed(self.encoder.skip_channels), config.decoder_channels):
            blocks.append(VGGBlock(2, channels + skip, width, norm="batch", act="relu"))
            channels = width
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(channels, config.out_channels, 1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        skips, x = self.encoder(x)
        for block, skip in zip(self.decoder, reversed(skips)):
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)

