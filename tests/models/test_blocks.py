import numpy as np
import pytest
import torch

from microseg.models import count_parameters, pad_to_multiple
from microseg.models.base import crop_output
from microseg.models.blocks import (
    ASPP,
    ResDenBlock,
    ResidualUnit,
    norm_nd,
    pixel_shuffle_nd,
    upsampler,
)


def test_pixel_shuffle_3d_places_channels_by_the_subpixel_formula():
    r, c, z, y, x = 2, 3, 2, 3, 4
    inp = torch.arange(c * r**3 * z * y * x, dtype=torch.float32).reshape(1, c * r**3, z, y, x)
    out = pixel_shuffle_nd(inp, r)
    assert out.shape == (1, c, z * r, y * r, x * r)
    grouped = inp.reshape(1, c, r, r, r, z, y, x)   # channel index = c·r³ + i·r² + j·r + k
    for i in range(r):
        for j in range(r):
            for k in range(r):
                torch.testing.assert_close(out[:, :, i::r, j::r, k::r], grouped[:, :, i, j, k])


def test_pixel_shuffle_2d_matches_torch():
    inp = torch.randn(2, 8, 3, 5)
    torch.testing.assert_close(pixel_shuffle_nd(inp, 2), torch.nn.PixelShuffle(2)(inp))


@pytest.mark.parametrize("dims", [2, 3])
def test_pixelshuffle_upsampler_has_no_conv_weights_and_divides_channels(dims):
    up, channels = upsampler("pixelshuffle", dims, 32, 16, norm="group", act="relu", groups=8)
    assert channels == 32 // 2**dims
    assert count_parameters(up) == 2 * channels       # only the group-norm affine parameters
    out = up(torch.randn(1, 32, *([4] * dims)))
    assert out.shape == (1, channels, *([8] * dims))


def test_resden_parameter_count_matches_the_formula():
    width, rate = 32, 8                                   # growth C/4
    block = ResDenBlock(2, width, width, growth=0.25, norm="group")
    convs = sum(9 * (width + i * rate) * rate for i in range(4)) + 9 * (width + 4 * rate) * width
    norms = 2 * (4 * rate + width)
    assert count_parameters(block) == convs + norms


def _assert_activated_identity_without(block, last, channels):
    """With its last conv-norm zeroed, a residual block reduces to ReLU(input)."""
    with torch.no_grad():
        last.conv.weight.zero_()
        last.norm.bias.zero_()
        x = torch.randn(2, channels, 9, 7)
        torch.testing.assert_close(block.eval()(x), torch.relu(x))


def test_resden_is_the_activated_identity_when_the_fusion_is_zero():
    block = ResDenBlock(2, 16, 16, norm="group")
    _assert_activated_identity_without(block, block.fuse, 16)


def test_resden_projects_a_different_input_width():
    block = ResDenBlock(2, 5, 16, norm="batch")
    assert block(torch.randn(2, 5, 6, 6)).shape == (2, 16, 6, 6)


def test_residual_unit_stride_and_shortcut():
    unit = ResidualUnit(2, 4, 8, stride=2, dilation=2, act="elu")
    assert unit(torch.randn(1, 4, 9, 10)).shape == (1, 8, 5, 5)
    same = ResidualUnit(2, 8, 8)
    _assert_activated_identity_without(same, same.conv2, 8)


def test_aspp_branches_and_skip():
    aspp = ASPP(2, 32, 32, rates=[1, 6, 12, 18], skip=True, norm="group").eval()
    # 4 rate branches (1×1, 3×3 dilated ×3) + pooled branch, 16 channels each, fused to 32.
    convs = 32 * 16 + 3 * 9 * 32 * 16 + 32 * 16 + 5 * 16 * 32
    norms = 2 * 16 * 5 + 2 * 32
    assert count_parameters(aspp) == convs + norms
    _assert_activated_identity_without(aspp, aspp.fuse, 32)


@pytest.mark.parametrize("norm,channels", [("batch", 8), ("group", 16), ("none", 8)])
def test_aspp_trains_on_a_batch_of_one(norm, channels):
    aspp = ASPP(2, channels, 4, norm=norm).train()
    out = aspp(torch.randn(1, channels, 3, 3))
    assert out.shape == (1, 4, 3, 3)
    out.sum().backward()


def test_group_norm_falls_back_to_a_divisor_of_the_width():
    assert norm_nd("group", 32, 2).num_groups == 8
    assert norm_nd("group", 12, 2).num_groups == 4
    assert norm_nd("group", 3, 2).num_groups == 1


@pytest.mark.parametrize("shape,multiple", [((13, 20), 8), ((16, 16), 16), ((5, 7, 9), 4)])
def test_reflect_padding_matches_numpy_and_crops_back(shape, multiple):
    x = torch.randn(2, 3, *shape)
    padded, crop = pad_to_multiple(x, multiple, "reflect")
    total = [(-s) % multiple for s in shape]
    widths = [(0, 0), (0, 0)] + [(t // 2, t - t // 2) for t in total]
    np.testing.assert_array_equal(padded.numpy(), np.pad(x.numpy(), widths, mode="reflect"))
    assert all(s % multiple == 0 for s in padded.shape[2:])
    torch.testing.assert_close(crop_output(padded, crop), x)
    assert crop_output({"a": padded}, crop)["a"].shape == x.shape


def test_reflect_padding_falls_back_to_replicate_for_tiny_inputs():
    x = torch.randn(1, 1, 2, 3)
    padded, crop = pad_to_multiple(x, 16, "reflect")
    widths = [(0, 0), (0, 0), (7, 7), (6, 7)]
    np.testing.assert_array_equal(padded.numpy(), np.pad(x.numpy(), widths, mode="edge"))
    torch.testing.assert_close(padded[(..., *crop)], x)
