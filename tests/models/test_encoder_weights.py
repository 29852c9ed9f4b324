"""EfficientCellSeg's encoder: the skip taps, and loading ImageNet-style weights from local files
in timm or torchvision naming — with the network switched off."""
import socket

import pytest
import timm
import torch
import torchvision

from microseg import models
from microseg.errors import InputError
from microseg.models.efficientcellseg import EfficientNetEncoder


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _randomise_batch_norms(module, seed=0):
    generator = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def test_skip_taps_split_timm_blocks_exactly():
    net = timm.create_model("efficientnet_b0", pretrained=False).eval()
    _randomise_batch_norms(net)
    with torch.no_grad():
        for stage, (head, tail) in EfficientNetEncoder.TAPS.items():
            block = net.blocks[stage][0]
            first = block.conv_dw if stage == 0 else block.conv_pw
            inp = torch.randn(1, first.in_channels, 16, 16)
            torch.testing.assert_close(tail(block, head(block, inp)), block(inp))
    encoder = EfficientNetEncoder("efficientnet_b0", 3)
    assert encoder.skip_channels == [3, 32, 144, 240] and encoder.out_channels == 672


def test_encoder_weights_from_a_timm_state_dict(tmp_path, no_network):
    source = models.build("efficientcellseg", encoder="efficientnet_b0")
    _randomise_batch_norms(source.encoder)
    path = tmp_path / "encoder.pth"
    torch.save(source.encoder.state_dict(), path)
    model = models.build("efficientcellseg", encoder="efficientnet_b0",
                         encoder_weights=str(path))
    for key, value in source.encoder.state_dict().items():
        torch.testing.assert_close(model.encoder.state_dict()[key], value)
    assert model.config["encoder_weights"] is None         # an initialisation, not architecture
    assert models.build(model.arch, **model.config).encoder.state_dict().keys() == \
        model.encoder.state_dict().keys()


def test_encoder_weights_from_a_full_timm_model_wrapped_in_a_checkpoint(tmp_path, no_network):
    net = timm.create_model("efficientnet_b0", pretrained=False)
    path = tmp_path / "full.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, path)
    model = models.build("efficientcellseg", encoder="efficientnet_b0",
                         encoder_weights=str(path))
    torch.testing.assert_close(model.encoder.blocks[5][0].conv_pw.weight,
                               net.blocks[5][0].conv_pw.weight)


def test_torchvision_weights_give_the_torchvision_features(tmp_path, no_network):
    reference = torchvision.models.efficientnet_b0(weights=None).eval()
    _randomise_batch_norms(reference)
    for m in reference.modules():                 # timm's BN epsilon, to compare outputs exactly
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eps = 1e-5
    path = tmp_path / "tv.pth"
    torch.save(reference.state_dict(), path)
    model = models.build("efficientcellseg", encoder="efficientnet_b0",
                         encoder_weights=str(path)).eval()
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _, ours = model.encoder(image)
        theirs = reference.features[:6](image)
        theirs = reference.features[6][0].block[0](theirs)    # first expansion of stage 6
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)


def test_torchvision_b5_names_cover_the_paper_encoder(tmp_path, no_network):
    state = torchvision.models.efficientnet_b5(weights=None).state_dict()
    path = tmp_path / "tv_b5.pth"
    torch.save(state, path)
    model = models.build("efficientcellseg", in_channels=1, encoder_weights=str(path))
    stem = model.encoder.conv_stem.weight
    torch.testing.assert_close(stem, state["features.0.0.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(model.encoder.blocks[3][0].bn1.running_var,
                               state["features.4.0.block.0.1.running_var"])


def test_bad_weight_files_raise_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        models.build("efficientcellseg", encoder="efficientnet_b0",
                     encoder_weights=str(tmp_path / "missing.pth"))
    partial = tmp_path / "partial.pth"
    torch.save({"conv_stem.weight": torch.zeros(32, 3, 3, 3)}, partial)
    with pytest.raises(InputError, match="missing"):
        models.build("efficientcellseg", encoder="efficientnet_b0", encoder_weights=str(partial))
    other = tmp_path / "b2.pth"
    torch.save(timm.create_model("efficientnet_b2", pretrained=False).state_dict(), other)
    with pytest.raises(InputError, match="shape"):
        models.build("efficientcellseg", encoder="efficientnet_b0", encoder_weights=str(other))
    junk = tmp_path / "junk.pth"
    junk.write_text("not a checkpoint")
    with pytest.raises(InputError, match="junk.pth"):
        models.build("efficientcellseg", encoder="efficientnet_b0", encoder_weights=str(junk))
