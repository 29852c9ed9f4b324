"""One shared test over the whole registry: each architecture only supplies a small config."""
import pytest
import torch
import yaml

from microseg import models
from microseg.errors import ConfigError

# name → (small config, expected output: channel count or {head: channel count})
SMALL = {
    "unet": (dict(in_channels=2, out_channels=4, depth=3, base_channels=8), 4),
    "xbnet": (dict(in_channels=2, depth=3, base_channels=8), 3),
    "efficientcellseg": (dict(in_channels=2, encoder="efficientnet_b0",
                              decoder_channels=[16, 8, 8, 8]), 1),
    "rcspcnet": (dict(in_channels=2, stem_channels=8, widths=[8, 8, 16, 16, 16, 16],
                      units=[1, 1, 2, 1, 1, 1], decoder_channels=[16, 8, 8]), 2),
    "panoptic": (dict(in_channels=2, backbone="resnet18", feature_size=16, head_filters=8,
                      head_dense=8, heads={"inner_distance": 1, "pixelwise": 3}),
                 {"inner_distance": 1, "pixelwise": 3}),
}
NAMES = sorted(SMALL)


def _small(name):
    torch.manual_seed(0)
    return models.build(name, **SMALL[name][0])


def _shapes(output):
    if isinstance(output, dict):
        return {k: tuple(v.shape) for k, v in output.items()}
    return tuple(output.shape)


def _expected(name, spatial, batch=1):
    channels = SMALL[name][1]
    if isinstance(channels, dict):
        return {k: (batch, c, *spatial) for k, c in channels.items()}
    return (batch, channels, *spatial)


def _total(output):
    values = output.values() if isinstance(output, dict) else [output]
    return sum(v.float().pow(2).mean() for v in values)


def test_every_registered_architecture_has_a_small_config():
    assert sorted(models.available()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_on_odd_size(name):
    model = _small(name).train()
    x = torch.randn(1, 2, 37, 45, requires_grad=True)
    output = model(x)
    assert _shapes(output) == _expected(name, (37, 45))
    _total(output).backward()
    assert x.grad is not None and x.grad.shape == x.shape
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert unused == [], f"parameters without gradient: {unused[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_rebuild_from_config_gives_the_same_model(name):
    model = _small(name).eval()
    assert model.arch == name
    rebuilt = models.build(model.arch, **model.config)
    original = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == original
    assert rebuilt.config == model.config
    assert yaml.safe_load(yaml.safe_dump(model.config)) == model.config     # plain data
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    x = torch.randn(1, 2, 24, 40)
    with torch.no_grad():
        a, b = model(x), rebuilt(x)
    for u, v in zip(*(o.values() if isinstance(o, dict) else [o] for o in (a, b))):
        torch.testing.assert_close(u, v)


@pytest.mark.parametrize("name", NAMES)
def test_channels_last_gives_the_same_output(name):
    model = _small(name).eval()
    x = torch.randn(2, 2, 40, 36)
    with torch.no_grad():
        expected = model(x)
        model = model.to(memory_format=torch.channels_last)
        actual = model(x.to(memory_format=torch.channels_last))
    pairs = ([(expected[k], actual[k]) for k in expected] if isinstance(expected, dict)
             else [(expected, actual)])
    for e, a in pairs:
        torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_output_size_equals_input_size(name):
    model = _small(name).eval()
    with torch.no_grad():
        for spatial in [(1, 1), (2, 7), (8, 8), (17, 3), (32, 33), (50, 21)]:
            output = model(torch.randn(1, 2, *spatial))
            assert _shapes(output) == _expected(name, spatial)


UNET_VARIANTS = [
    dict(block="vgg", norm="batch", down="maxpool", up="upconv"),
    dict(block="residual", norm="group", down="conv_stride", up="bilinear", bridge="conv"),
    dict(block="resden", norm="none", down="maxpool", up="pixelshuffle", aspp=True),
    dict(block="vgg", norm="group", down="conv_stride", up="pixelshuffle", entry_flow=True,
         aspp=True, aspp_skip=True),
    dict(block="resden", norm="group", order="block_down", down="conv_stride", up="upconv",
         entry_flow=True, bridge="conv"),
    dict(block="residual", norm="batch", order="block_down", down="maxpool", up="bilinear",
         aspp=True, aspp_rates=[1, 2], aspp_channels=4),
    dict(block="vgg", norm="none", order="block_down", down="conv_stride", up="pixelshuffle",
         activation="elu", depth=4),
]


@pytest.mark.parametrize("variant", UNET_VARIANTS, ids=lambda v: "-".join(map(str, v.values())))
@pytest.mark.parametrize("dims", [2, 3])
def test_unet_variants_forward_backward(variant, dims):
    config = dict(in_channels=1, out_channels=3, depth=3, base_channels=8, dims=dims) | variant
    model = models.build("unet", **config).train()
    spatial = (19, 13) if dims == 2 else (5, 11, 9)
    x = torch.randn(2, 1, *spatial)
    output = model(x)
    assert output.shape == (2, 3, *spatial)
    output.pow(2).mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    rebuilt = models.build(model.arch, **model.config)
    assert [v.shape for v in rebuilt.state_dict().values()] == [
        v.shape for v in model.state_dict().values()]


def test_unet_space_to_depth_runs_the_body_at_lower_resolution():
    model = models.build("unet", in_channels=2, out_channels=3, depth=3, base_channels=8,
                         space_to_depth=2).eval()
    x = torch.randn(1, 2, 37, 45)
    assert model(x).shape == (1, 3, 37, 45)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    # the first conv sees the 2×2-folded input (2·4 channels); the head emits 3·4 maps
    assert convs[0].in_channels == 8 and convs[-1].out_channels == 12
    # folding + two poolings make the network equivariant to shifts by multiples of 2·2² = 8
    # pixels (away from the borders), and only to those
    big = torch.randn(1, 2, 96, 96)
    with torch.no_grad():
        base = model(big)
        shifted = model(torch.roll(big, shifts=(8, 8), dims=(2, 3)))
        odd = model(torch.roll(big, shifts=(1, 1), dims=(2, 3)))
    inner = (slice(None), slice(None), slice(40, 64), slice(40, 64))
    rolled = torch.roll(base, shifts=(8, 8), dims=(2, 3))
    torch.testing.assert_close(shifted[inner], rolled[inner], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(odd[inner], torch.roll(base, (1, 1), (2, 3))[inner], atol=1e-4)


def test_unet_space_to_depth_rejects_3d():
    with pytest.raises(ConfigError, match="space_to_depth"):
        models.build("unet", dims=3, space_to_depth=2)


def test_unet_3d_channels_last():
    model = models.build("unet", dims=3, depth=3, base_channels=8, block="resden", norm="group",
                         up="pixelshuffle").eval()
    x = torch.randn(1, 1, 6, 10, 12)
    with torch.no_grad():
        expected = model(x)
        model = model.to(memory_format=torch.channels_last_3d)
        actual = model(x.to(memory_format=torch.channels_last_3d))
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::DeprecationWarning")
@pytest.mark.parametrize("name", NAMES)
def test_exports_to_onnx_with_the_same_output(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = _small(name).eval()
    x = torch.randn(1, 2, 30, 44)
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17)
    session = ort.InferenceSession(str(path))
    outputs = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = model(x)
    expected = list(expected.values()) if isinstance(expected, dict) else [expected]
    for actual, reference in zip(outputs, expected):
        torch.testing.assert_close(torch.from_numpy(actual), reference, rtol=1e-4, atol=1e-4)


def test_unet_heads_share_one_body_and_each_gets_its_own_output_conv():
    torch.manual_seed(0)
    small = dict(in_channels=1, depth=3, base_channels=8, space_to_depth=2)
    single = models.build("unet", out_channels=3, **small).eval()
    both = models.build("unet", heads={"pixelwise": 3, "inner_distance": 1}, **small).eval()
    weights = {("heads.pixelwise." + k[5:] if k.startswith("head.") else k): v
               for k, v in single.state_dict().items()}
    missing, unexpected = both.load_state_dict(weights, strict=False)
    assert sorted(missing) == ["heads.inner_distance.bias", "heads.inner_distance.weight"]
    assert not unexpected
    x = torch.randn(2, 1, 30, 44)
    with torch.no_grad():
        out = both(x)
        expected = single(x)
    assert _shapes(out) == {"pixelwise": (2, 3, 30, 44), "inner_distance": (2, 1, 30, 44)}
    torch.testing.assert_close(out["pixelwise"], expected)
    rebuilt = models.build(both.arch, **both.config)
    assert rebuilt.state_dict().keys() == both.state_dict().keys()


@pytest.mark.parametrize("heads", [{}, {"a": 0}, {"a": 1.5}, ["a"]])
def test_unet_heads_must_map_names_to_output_counts(heads):
    with pytest.raises(ConfigError, match="unet.heads"):
        models.build("unet", heads=heads)
