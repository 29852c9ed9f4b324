"""The paper presets: structure and parameter counts against the numbers the papers report."""
import pytest
import timm
import torch

from microseg import models


def test_xbnet_has_the_paper_parameter_count():
    model = models.build("xbnet")
    assert model.in_channels == 1 and model.config["out_channels"] == 3
    assert models.count_parameters(model) == pytest.approx(11.38e6, rel=0.02)


def test_xbnet_structure_four_downsamplings_to_512_channels():
    model = models.build("xbnet").eval()
    x = torch.randn(1, 1, 64, 64)
    shapes = []
    with torch.no_grad():
        for level in model.encoder:
            x = level(x)
            shapes.append(tuple(x.shape[1:]))
        bottleneck = model.bottleneck(x)
    assert shapes == [(32, 64, 64), (64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)]
    assert bottleneck.shape == (1, 512, 4, 4)
    assert len(model.bottleneck.branches) == 4     # rates 1, 6, 12, 18 (+ pooled branch)


def test_efficientcellseg_has_the_paper_sizes():
    model = models.build("efficientcellseg")
    assert model.in_channels == 3
    total = models.count_parameters(model)
    decoder = total - models.count_parameters(model.encoder)
    assert total == pytest.approx(6.7e6, rel=0.05)
    assert decoder == pytest.approx(1.1e6, rel=0.05)
    # 384² input → 24² × 1056 encoder output (paper §2.1); checked on 64² for speed.
    model.eval()
    with torch.no_grad():
        skips, bottleneck = model.encoder(torch.randn(1, 3, 64, 64))
    assert bottleneck.shape == (1, 1056, 4, 4)
    assert [tuple(s.shape[1:]) for s in skips] == [(3, 64, 64), (48, 32, 32), (240, 16, 16),
                                                   (384, 8, 8)]


def test_efficientcellseg_encoder_is_timm_b5_up_to_the_sixth_stage_expansion():
    reference = timm.create_model("efficientnet_b5", pretrained=False)

    def n(module):
        return models.count_parameters(module)

    expected = (n(reference.conv_stem) + n(reference.bn1) + sum(n(s) for s in reference.blocks[:5])
                + n(reference.blocks[5][0].conv_pw) + n(reference.blocks[5][0].bn1))
    assert n(models.build("efficientcellseg").encoder) == expected


def _head_parameters(width, filters, dense, outputs):
    conv = 9 * width * filters + filters
    conv_small = 9 * filters * filters + filters
    # P3: one conv; P(3+k): k convs (the first from the pyramid width) with 2× upsampling each
    fuse = sum(conv + max(0, level - 1) * conv_small for level in range(5))
    return fuse + 3 * conv_small + filters * dense + 2 * dense + dense * outputs + outputs


def test_panoptic_resnet50_parameter_count_is_backbone_plus_fpn_plus_heads():
    model = models.build("panoptic")                # resnet50, coords, inner distance + pixelwise
    backbone = timm.create_model("resnet50", pretrained=False, features_only=True, in_chans=3)
    f = 256
    lateral = sum(c * f + f for c in (512, 1024, 2048))
    smooth = 3 * (9 * f + f)                        # depthwise ("lite")
    p6, p7 = 9 * 2048 * f + f, 9 * f * f + f
    heads = _head_parameters(f, 64, 128, 1) + _head_parameters(f, 64, 128, 3)
    expected = models.count_parameters(backbone) + lateral + smooth + p6 + p7 + heads
    assert models.count_parameters(model) == expected
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 1, 70, 50))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"inner_distance": (1, 1, 70, 50),
                                                          "pixelwise": (1, 3, 70, 50)}


@pytest.mark.parametrize("backbone", ["densenet201", "efficientnet_b0"])
def test_panoptic_other_backbone_families(backbone):
    model = models.build("panoptic", backbone=backbone, feature_size=16, head_filters=8,
                         head_dense=8, heads={"fgbg": 2}, coords=False).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 1, 40, 40))
    assert out["fgbg"].shape == (1, 2, 40, 40)


def test_panoptic_coordinate_channels_span_minus_one_to_one():
    model = models.build("panoptic", backbone="resnet18", feature_size=8, head_filters=4,
                         head_dense=4)
    prepared = model.prepare(torch.zeros(2, 1, 5, 3))
    assert prepared.shape == (2, 3, 5, 3)
    torch.testing.assert_close(prepared[0, 1, :, 0], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))
    torch.testing.assert_close(prepared[1, 2, 0], torch.tensor([-1.0, 0.0, 1.0]))


def test_rcspcnet_resolution_and_contextual_skips():
    model = models.build("rcspcnet").eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        x = model.stem(x)
        sizes = []
        for block in model.blocks:
            x = block(x)
            sizes.append(x.shape[-1])
    assert sizes == [16, 8, 8, 8, 8, 8]             # 1/8 after blocks 1 and 2, then dilated
    dilations = [block[0].conv1.conv.dilation[0] for block in model.blocks]
    assert dilations == [1, 1, 2, 2, 4, 4]
    counts = [models.count_parameters(models.build("rcspcnet", skips=k)) for k in (0, 1, 2)]
    projection = {4: 128 * 256 + 2 * 256, 2: 64 * 256 + 2 * 256}    # 1×1 conv + BN to block 6
    assert counts[1] - counts[0] == projection[4]
    assert counts[2] - counts[1] == projection[2]


def test_presets_default_to_their_paper_inputs():
    assert models.build("rcspcnet").in_channels == 1
    assert models.build("xbnet", in_channels=2).in_channels == 2
