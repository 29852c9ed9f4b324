"""Small building blocks shared by the architectures, for 2D ``(N, C, Y, X)`` and 3D
``(N, C, Z, Y, X)`` feature maps.

Every block takes ``dims`` (2 or 3), a normalisation name (``"batch"``, ``"group"``, ``"none"``) and
an activation name (``"relu"``, ``"elu"``, ``"silu"``, ``"leaky_relu"``), so one definition serves
the generalised U-Net, XB-Net and RC-SPCNet alike.
"""
from __future__ import annotations

import math
import typing
from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from microseg.config import check_choice
from microseg.errors import ConfigError

Norm = Literal["batch", "group", "none"]
Activation = Literal["relu", "elu", "silu", "leaky_relu"]
EncoderBlock = Literal["vgg", "residual", "resden"]
Upsampler = Literal["upconv", "pixelshuffle", "bilinear"]
NORMS = typing.get_args(Norm)
ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU, "leaky_relu": nn.LeakyReLU}


def check_dims(dims: int) -> None:
    check_choice("dims", dims, (2, 3))


def conv_nd(
    dims: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    *,
    stride: int = 1,
    dilation: int = 1,
    groups: int = 1,
    bias: bool = True,
) -> nn.Module:
    """A 2D or 3D convolution with 'same' padding (output size = ceil(input / stride))."""
    cls = nn.Conv2d if dims == 2 else nn.Conv3d
    padding = dilation * (kernel_size - 1) // 2
    return cls(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
               dilation=dilation, groups=groups, bias=bias)


def norm_nd(kind: str, channels: int, dims: int, groups: int = 8) -> nn.Module:
    """Batch norm, group norm or identity.

    Group norm uses ``gcd(channels, groups)`` groups, so narrow layers (e.g. a ResDen growth of 4
    channels) still normalise instead of failing; with the default 8 groups and widths that are
    multiples of 8 this is exactly ``groups``.
    """
    check_choice("norm", kind, NORMS)
    if kind == "batch":
        return (nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d)(channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(channels, groups), channels)
    return nn.Identity()


def activation(kind: str | None) -> nn.Module:
    """An activation module by name; ``None`` gives identity."""
    if kind is None:
        return nn.Identity()
    check_choice("activation", kind, tuple(ACTIVATIONS))
    return ACTIVATIONS[kind](inplace=True)


def max_pool_nd(dims: int) -> nn.Module:
    """2× max pooling (``ceil_mode`` keeps odd sizes consistent with strided convolutions)."""
    return (nn.MaxPool2d if dims == 2 else nn.MaxPool3d)(2, ceil_mode=True)


class ConvNormAct(nn.Sequential):
    """Convolution → normalisation → activation (``act=None`` leaves the activation out).

    The convolution has a bias only when there is no normalisation after it.
    """

    def __init__(self, dims: int, in_channels: int, out_channels: int, kernel_size: int = 3, *,
                 stride: int = 1, dilation: int = 1, norm: str = "batch", act: str | None = "relu",
                 groups: int = 8):
        super().__init__(OrderedDict(
            conv=conv_nd(dims, in_channels, out_channels, kernel_size, stride=stride,
                         dilation=dilation, bias=norm == "none"),
            norm=norm_nd(norm, out_channels, dims, groups),
            act=activation(act),
        ))


class VGGBlock(nn.Sequential):
    """Two 3×3 conv-norm-act layers (the original U-Net block): ``in → out → out``."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, *, norm: str = "batch",
                 act: str = "relu", groups: int = 8, dilation: int = 1):
        super().__init__(
            ConvNormAct(dims, in_channels, out_channels, norm=norm, act=act, groups=groups,
                        dilation=dilation),
            ConvNormAct(dims, out_channels, out_channels, norm=norm, act=act, groups=groups,
                        dilation=dilation),
        )


class ResidualUnit(nn.Module):
    """Residual unit: two 3×3 conv-norm layers (activation between) plus a shortcut, then the
    activation. The shortcut is a 1×1 conv-norm when the width or the stride changes.

    With ``act="elu"`` and batch norm this is the RC-SPCNet unit; ``dilation`` dilates both 3×3
    convolutions, ``stride`` applies to the first one.
    """

    def __init__(self, dims: int, in_channels: int, out_channels: int, *, stride: int = 1,
                 dilation: int = 1, norm: str = "batch", act: str = "relu", groups: int = 8):
        super().__init__()
        self.conv1 = ConvNormAct(dims, in_channels, out_channels, stride=stride, dilation=dilation,
                                 norm=norm, act=act, groups=groups)
        self.conv2 = ConvNormAct(dims, out_channels, out_channels, dilation=dilation, norm=norm,
                                 act=None, groups=groups)
        if in_channels == out_channels and stride == 1:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = ConvNormAct(dims, in_channels, out_channels, 1, stride=stride,
                                        norm=norm, act=None, groups=groups)
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


class ResDenBlock(nn.Module):
    """Residual dense block (RDN, as used by XB-Net): ``layers`` densely connected 3×3
    conv-norm-act layers of ``growth × width`` channels each, a 3×3 conv-norm fusing everything
    back to ``width``, a residual sum scaled by ``scale``, then the activation.

    When ``in_channels != out_channels`` a 1×1 conv-norm-act first maps the input to the block
    width ``out_channels``.
    """

    def __init__(self, dims: int, in_channels: int, out_channels: int, *, growth: float = 0.25,
                 layers: int = 4, scale: float = 0.2, norm: str = "batch", act: str = "relu",
                 groups: int = 8):
        super().__init__()
        if growth <= 0:
            raise ConfigError(f"ResDen growth must be > 0, got {growth}")
        width = out_channels
        rate = max(1, round(width * growth))
        self.project = (nn.Identity() if in_channels == width else
                        ConvNormAct(dims, in_channels, width, 1, norm=norm, act=act, groups=groups))
        self.dense = nn.ModuleList(
            ConvNormAct(dims, width + i * rate, rate, norm=norm, act=act, groups=groups)
            for i in range(layers)
        )
        self.fuse = ConvNormAct(dims, width + layers * rate, width, norm=norm, act=None,
                                groups=groups)
        self.scale = scale
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.project(x)
        features = [x]
        for layer in self.dense:
            features.append(layer(torch.cat(features, dim=1)))
        return self.act(x + self.scale * self.fuse(torch.cat(features, dim=1)))


ENCODER_BLOCKS = typing.get_args(EncoderBlock)


def encoder_block(kind: str, dims: int, in_channels: int, out_channels: int, *, norm: str,
                  act: str, groups: int, growth: float) -> nn.Module:
    """The generalised U-Net block by name: ``vgg``, ``residual`` or ``resden``."""
    check_choice("block", kind, ENCODER_BLOCKS)
    if kind == "vgg":
        return VGGBlock(dims, in_channels, out_channels, norm=norm, act=act, groups=groups)
    if kind == "residual":
        return ResidualUnit(dims, in_channels, out_channels, norm=norm, act=act, groups=groups)
    return ResDenBlock(dims, in_channels, out_channels, growth=growth, norm=norm, act=act,
                       groups=groups)


class EntryFlow(nn.Sequential):
    """Full-resolution entry block: 7×7 conv-norm-act then 3×3 conv-norm-act (XB-Net)."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, *, norm: str = "batch",
                 act: str = "relu", groups: int = 8):
        super().__init__(
            ConvNormAct(dims, in_channels, out_channels, 7, norm=norm, act=act, groups=groups),
            ConvNormAct(dims, out_channels, out_channels, 3, norm=norm, act=act, groups=groups),
        )


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling.

    One branch per rate (rate 1 is a 1×1 conv, others dilated 3×3 convs) plus a global-average
    branch, each ``branch_channels`` wide (default ``in_channels // 2``); the concatenation is
    fused by a 1×1 conv-norm to ``out_channels``. With ``skip`` the input (1×1 conv-norm projected
    when the widths differ) is added before the final activation, as in XB-Net.

    The pooled branch sees one value per channel, so batch statistics are undefined there for a
    batch of one, and a group of a single channel would normalise to a constant: with
    ``norm="batch"``, or group norm with one channel per group, that branch uses a biased conv
    without normalisation.
    """

    def __init__(self, dims: int, in_channels: int, out_channels: int, *,
                 rates: Sequence[int] = (1, 6, 12, 18), branch_channels: int | None = None,
                 skip: bool = False, norm: str = "batch", act: str = "relu", groups: int = 8):
        super().__init__()
        if not rates or any(int(r) < 1 for r in rates):
            raise ConfigError(f"ASPP rates must be a non-empty list of integers >= 1, got {rates}")
        width = branch_channels or max(1, in_channels // 2)
        self.branches = nn.ModuleList(
            ConvNormAct(dims, in_channels, width, 1 if r == 1 else 3, dilation=int(r), norm=norm,
                        act=act, groups=groups)
            for r in rates
        )
        degenerate = norm == "batch" or (norm == "group" and width == math.gcd(width, groups))
        pooled_norm = "none" if degenerate else norm
        self.pool = nn.Sequential(
            (nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool3d(1)),
            ConvNormAct(dims, in_channels, width, 1, norm=pooled_norm, act=act, groups=groups),
        )
        self.fuse = ConvNormAct(dims, width * (len(rates) + 1), out_channels, 1, norm=norm,
                                act=None, groups=groups)
        self.skip: nn.Module | None = None
        if skip:
            self.skip = (nn.Identity() if in_channels == out_channels else
                         ConvNormAct(dims, in_channels, out_channels, 1, norm=norm, act=None,
                                     groups=groups))
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [branch(x) for branch in self.branches]
        outputs.append(self.pool(x).expand(-1, -1, *x.shape[2:]))
        y = self.fuse(torch.cat(outputs, dim=1))
        if self.skip is not None:
            y = y + self.skip(x)
        return self.act(y)


def pixel_shuffle_nd(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Sub-pixel rearrangement ``(N, C·f^d, *S) → (N, C, *(S·f))`` for d = 2 or 3 spatial axes.

    Output voxel ``(c, z·f + i, y·f + j, x·f + k)`` takes input channel ``c·f³ + i·f² + j·f + k``
    at ``(z, y, x)`` (the 2D case is :func:`torch.nn.functional.pixel_shuffle`).
    """
    if x.dim() == 4:
        return F.pixel_shuffle(x, factor)
    n, c, *spatial = x.shape
    d = len(spatial)
    out_channels = c // factor**d
    x = x.reshape(n, out_channels, *([factor] * d), *spatial)
    order = [0, 1] + [axis for k in range(d) for axis in (2 + d + k, 2 + k)]
    return x.permute(order).reshape(n, out_channels, *(s * factor for s in spatial))


class PixelShuffle(nn.Module):
    """Module form of :func:`pixel_shuffle_nd`."""

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_shuffle_nd(x, self.factor)


UPSAMPLERS = typing.get_args(Upsampler)


def upsampler(kind: str, dims: int, in_channels: int, out_channels: int, *, norm: str, act: str,
              groups: int) -> tuple[nn.Module, int]:
    """A 2× upsampling layer by name and the number of channels it produces.

    ``upconv``: 2×2 transposed convolution to ``out_channels``. ``bilinear``: (tri)linear
    interpolation then a 1×1 conv to ``out_channels``. ``pixelshuffle``: sub-pixel shuffle to
    ``in_channels / 2^dims`` channels (no weights) followed by norm and activation.
    """
    check_choice("up", kind, UPSAMPLERS)
    if kind == "upconv":
        cls = nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d
        return cls(in_channels, out_channels, 2, stride=2), out_channels
    if kind == "bilinear":
        mode = "bilinear" if dims == 2 else "trilinear"
        return nn.Sequential(nn.Upsample(scale_factor=2, mode=mode, align_corners=False),
                             conv_nd(dims, in_channels, out_channels, 1)), out_channels
    factor = 2**dims
    if in_channels % factor:
        raise ConfigError(f"pixelshuffle upsampling needs a width divisible by {factor}, "
                          f"got {in_channels}")
    shuffled = in_channels // factor
    return nn.Sequential(PixelShuffle(2), norm_nd(norm, shuffled, dims, groups),
                         activation(act)), shuffled
