import pytest
import torch

from microseg import models
from microseg.errors import ConfigError, InputError


@pytest.mark.parametrize("name,config,message", [
    ("nonet", {}, "model: 'nonet' is not one of"),
    ("unet", {"depthh": 3}, "unknown key"),
    ("unet", {"block": "dense"}, "block: 'dense' is not one of"),
    ("unet", {"dims": 4}, "dims: 4 is not one of 2, 3"),
    ("unet", {"depth": 1}, "depth must be >= 2"),
    ("unet", {"depth": "5"}, "unet.depth: must be int"),
    ("unet", {"aspp": True, "aspp_rates": []}, "ASPP rates"),
    ("unet", {"up": "pixelshuffle", "base_channels": 3}, "divisible by 4"),
    ("unet", {"norm": "layer"}, "norm: 'layer' is not one of"),
    ("unet", {"pad_mode": "wrap"}, "pad_mode: 'wrap' is not one of"),
    ("xbnet", {"growth": 0}, "growth must be > 0"),
    ("rcspcnet", {"skips": 3}, "rcspcnet.skips: 3 is not one of 0, 1, 2"),
    ("rcspcnet", {"units": [1, 1, 1]}, "six integers"),
    ("rcspcnet", {"dropout": 1.0}, "dropout"),
    ("efficientcellseg", {"encoder": "resnet50"}, "efficientcellseg.encoder: .resnet50. is not one of"),
    ("efficientcellseg", {"decoder_channels": [64, 48, 32]}, "four widths"),
    ("panoptic", {"heads": {}}, "heads must map"),
    ("panoptic", {"heads": {"pixelwise": 0}}, "outputs >= 1"),
    ("panoptic", {"heads": {"a b": 1}}, "identifier"),
    ("panoptic", {"backbone": "no_such_backbone"}, "unknown panoptic backbone"),
])
def test_bad_configs_raise_config_errors(name, config, message):
    with pytest.raises(ConfigError, match=message):
        models.build(name, **config)


def test_wrong_input_shapes_raise_input_errors():
    model = models.build("unet", in_channels=2, depth=2, base_channels=4)
    with pytest.raises(InputError, match="2 input channel"):
        model(torch.zeros(1, 3, 8, 8))
    with pytest.raises(InputError, match=r"\(N, C, Y, X\)"):
        model(torch.zeros(2, 8, 8))
    volume = models.build("unet", dims=3, depth=2, base_channels=4)
    with pytest.raises(InputError, match=r"\(N, C, Z, Y, X\)"):
        volume(torch.zeros(1, 1, 8, 8))


def test_count_parameters_counts_trainable_and_frozen():
    model = models.build("unet", depth=2, base_channels=4)
    total = models.count_parameters(model)
    assert total == sum(p.numel() for p in model.parameters())
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    frozen = sum(p.numel() for p in model.encoder.parameters())
    assert models.count_parameters(model, trainable_only=True) == total - frozen
    assert models.count_parameters(model) == total
