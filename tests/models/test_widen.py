import pytest
import torch
from torch import nn

from microseg.errors import ConfigError
from microseg.models import build
from microseg.models.widen import widened_state


def trained_looking(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch norm non-trivial statistics and affine parameters, as training would."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator))
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator))
    return model


@pytest.mark.parametrize("config", [
    dict(depth=3, up="bilinear", space_to_depth=2),
    dict(depth=3, up="upconv"),
    dict(depth=2, up="bilinear", heads={"pixelwise": 3, "inner_distance": 1}),
    dict(depth=3, up="bilinear", norm="none"),
])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_widened_unet_computes_what_the_narrow_one_did(config, mode):
    torch.manual_seed(0)
    narrow = trained_looking(build("unet", base_channels=4, **config))
    wide = build("unet", base_channels=7, **config)
    wide.load_state_dict(widened_state(narrow, wide))
    getattr(narrow, mode)(), getattr(wide, mode)()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        expected, got = narrow(x), wide(x)
    if isinstance(expected, dict):
        assert expected.keys() == got.keys()
        for name in expected:
            torch.testing.assert_close(got[name], expected[name], atol=1e-5, rtol=1e-5)
    else:
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert sum(p.numel() for p in wide.parameters()) > sum(p.numel() for p in narrow.parameters())


def test_added_channels_start_silent_and_learn_from_the_first_step():
    torch.manual_seed(0)
    narrow = build("unet", depth=2, base_channels=4)
    wide = build("unet", depth=2, base_channels=6)
    wide.load_state_dict(widened_state(narrow, wide))
    head = wide.head.weight                                # (3, 6, 1, 1): reads level-0 features
    assert torch.count_nonzero(head[:, 4:]) == 0           # the added features are not read ...
    torch.testing.assert_close(head[:, :4], narrow.head.weight)
    stem = wide.encoder[0][0].conv.weight                  # (6, 1, 3, 3): added outputs are fresh
    assert torch.count_nonzero(stem[4:]) > 0
    wide(torch.randn(2, 1, 16, 16)).square().mean().backward()
    assert torch.count_nonzero(head.grad[:, 4:]) > 0       # ... but get gradients at once


def test_widening_refuses_layouts_it_cannot_preserve():
    narrow = build("unet", depth=2, base_channels=4)
    with pytest.raises(ConfigError, match="base_channels only.*depth"):
        widened_state(narrow, build("unet", depth=3, base_channels=8))
    with pytest.raises(ConfigError, match="cannot narrow"):
        widened_state(build("unet", depth=2, base_channels=8), narrow)
    with pytest.raises(ConfigError, match="block='vgg'"):
        widened_state(build("unet", depth=2, base_channels=4, block="residual"),
                      build("unet", depth=2, base_channels=8, block="residual"))
    with pytest.raises(ConfigError, match="group norm"):
        widened_state(build("unet", depth=2, base_channels=8, norm="group"),
                      build("unet", depth=2, base_channels=16, norm="group"))
    with pytest.raises(ConfigError, match="U-Nets"):
        widened_state(build("efficientcellseg"), narrow)
