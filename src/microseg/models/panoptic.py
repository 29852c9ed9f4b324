"""Mesmer-style PanopticNet (Greenwald et al.; applied to LIVECell by Yi, Da & Bai): a timm
backbone, a feature pyramid P3–P7 and several semantic heads.

Input: the image, optionally with two coordinate channels appended (y and x running from -1 to
1 over the input), goes into a timm backbone created with ``features_only`` and
``pretrained=False`` (any timm model with features at strides 8, 16 and 32: ``resnet50``,
``densenet201``, ``efficientnet_b*``, small ones such as ``resnet18`` …).

Pyramid (FPN): 1×1 lateral convs of C3–C5 to ``feature_size`` channels, top-down bilinear
upsampling and addition, a 3×3 conv on each merged map (depthwise when ``lite``, as in Mesmer);
P6 is a 3×3 stride-2 conv of C5 and P7 a 3×3 stride-2 conv of ReLU(P6).

Each semantic head brings every pyramid level to P3's resolution (one 3×3 conv for P3; for
P(3+k), k rounds of 3×3 conv and 2× bilinear upsampling), sums them, upsamples 8× to the input
size (three rounds of 3×3 conv + 2× upsampling), then applies a 1×1 conv-BN-ReLU and a 1×1 conv
to the head's number of outputs. Heads return raw outputs: the softmax of a class head
(e.g. ``pixelwise``: background / boundary / interior) and any activation of a regression head
(e.g. ``inner_distance``) belong to the loss and the predictor.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from microseg.errors import ConfigError
from microseg.models.base import SegmentationModel
from microseg.models.blocks import ConvNormAct

STRIDES = (8, 16, 32)     # backbone levels C3, C4, C5
LEVELS = 5                # pyramid levels P3..P7


@dataclass
class PanopticConfig:
    in_channels: int = 1
    backbone: str = "resnet50"
    heads: dict[str, int] = field(default_factory=lambda: {"inner_distance": 1, "pixelwise": 3})
    coords: bool = True          # append y/x coordinate channels to the input
    feature_size: int = 256      # pyramid width
    head_filters: int = 64       # width of the 3×3 convs in the semantic heads
    head_dense: int = 128        # width of the 1×1 conv-BN-ReLU before each head's output
    lite: bool = True            # depthwise 3×3 convs on P3–P5
    pad_mode: str = "reflect"

    def validate(self) -> None:
        if not isinstance(self.heads, dict) or not self.heads:
            raise ConfigError(f"panoptic heads must map head names to output counts, "
                              f"got {self.heads!r}")
        for name, outputs in self.heads.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ConfigError(f"panoptic head name {name!r} must be an identifier")
            if not isinstance(outputs, int) or outputs < 1:
                raise ConfigError(f"panoptic head {name!r} needs an integer number of outputs "
                                  f">= 1, got {outputs!r}")
        for name in ("in_channels", "feature_size", "head_filters", "head_dense"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"panoptic {name} must be >= 1, got {getattr(self, name)}")


def create_backbone(name: str, in_channels: int) -> tuple[nn.Module, list[int], list[int]]:
    """A timm ``features_only`` backbone, the indices of its stride 8/16/32 features and their
    channel counts; :class:`ConfigError` for unknown names or backbones without those strides."""
    import timm

    if not timm.is_model(name):
        raise ConfigError(f"unknown panoptic backbone {name!r} (any timm model name with "
                          "features at strides 8, 16 and 32, e.g. resnet50, densenet201, "
                          "efficientnet_b0, resnet18)")
    try:
        backbone = timm.create_model(name, pretrained=False, features_only=True,
                                     in_chans=in_channels)
    except (RuntimeError, TypeError, ValueError, AssertionError) as exc:
        raise ConfigError(f"panoptic backbone {name!r} cannot give feature maps: {exc}") from None
    reductions = list(backbone.feature_info.reduction())
    missing = [s for s in STRIDES if s not in reductions]
    if missing:
        raise ConfigError(f"panoptic backbone {name!r} has no features at stride(s) {missing}")
    indices = [reductions.index(s) for s in STRIDES]
    channels = [backbone.feature_info.channels()[i] for i in indices]
    return backbone, indices, channels


def upsample_to(x: torch.Tensor, size: torch.Size | tuple[int, ...]) -> torch.Tensor:
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class FeaturePyramid(nn.Module):
    """C3–C5 → P3–P7, all ``width`` channels wide."""

    def __init__(self, in_channels: list[int], width: int, lite: bool):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_channels)
        self.smooth = nn.ModuleList(
            nn.Conv2d(width, width, 3, padding=1, groups=width if lite else 1)
            for _ in in_channels
        )
        self.p6 = nn.Conv2d(in_channels[-1], width, 3, stride=2, padding=1)
        self.p7 = nn.Sequential(nn.ReLU(), nn.Conv2d(width, width, 3, stride=2, padding=1))

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        merged = [lateral(c) for lateral, c in zip(self.lateral, features)]
        for i in reversed(range(len(merged) - 1)):
            merged[i] = merged[i] + upsample_to(merged[i + 1], merged[i].shape[2:])
        pyramid = [smooth(m) for smooth, m in zip(self.smooth, merged)]
        p6 = self.p6(features[-1])
        return pyramid + [p6, self.p7(p6)]


class SemanticHead(nn.Module):
    """Fuses P3–P7 at P3's resolution, upsamples 8× and predicts ``outputs`` maps."""

    def __init__(self, width: int, filters: int, dense: int, outputs: int):
        super().__init__()
        self.fuse = nn.ModuleList(
            nn.ModuleList(nn.Conv2d(width if step == 0 else filters, filters, 3, padding=1)
                          for step in range(max(1, level)))
            for level in range(LEVELS)
        )
        self.upsample = nn.ModuleList(nn.Conv2d(filters, filters, 3, padding=1)
                                      for _ in range(3))
        self.out = nn.Sequential(ConvNormAct(2, filters, dense, 1, norm="batch", act="relu"),
                                 nn.Conv2d(dense, outputs, 1))

    def forward(self, pyramid: list[torch.Tensor], size: torch.Size) -> torch.Tensor:
        total = None
        for level, (feature, convs) in enumerate(zip(pyramid, self.fuse)):
            x = feature
            for step, conv in enumerate(convs):
                x = conv(x)
                if level - step > 0:
                    x = upsample_to(x, pyramid[level - step - 1].shape[2:])
            total = x if total is None else total + x
        x = total
        for step, conv in enumerate(self.upsample):
            target = [s * 2 ** (step + 1) for s in pyramid[0].shape[2:]]
            x = upsample_to(conv(x), size if step == len(self.upsample) - 1 else target)
        return self.out(x)


class PanopticNet(SegmentationModel):
    """Mesmer-style FPN; input ``(N, C, Y, X)``, output ``{head: (N, outputs, Y, X)}``."""

    def __init__(self, config: PanopticConfig):
        config.validate()
        c = config
        super().__init__(in_channels=c.in_channels, dims=2, multiple=32, pad_mode=c.pad_mode)
        self.coords = c.coords
        self.backbone, self.feature_indices, channels = create_backbone(
            c.backbone, c.in_channels + (2 if c.coords else 0))
        self.pyramid = FeaturePyramid(channels, c.feature_size, c.lite)
        self.heads = nn.ModuleDict({
            name: SemanticHead(c.feature_size, c.head_filters, c.head_dense, outputs)
            for name, outputs in c.heads.items()
        })

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        if not self.coords:
            return x
        n, _, height, width = x.shape
        y, xs = (torch.arange(size, dtype=x.dtype, device=x.device) * (2.0 / max(size - 1, 1))
                 - 1.0 for size in (height, width))
        grid = torch.stack(torch.meshgrid(y, xs, indexing="ij")).expand(n, -1, -1, -1)
        return torch.cat([x, grid], dim=1)

    def forward_padded(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.backbone(x)
        pyramid = self.pyramid([features[i] for i in self.feature_indices])
        return {name: head(pyramid, x.shape[2:]) for name, head in self.heads.items()}
