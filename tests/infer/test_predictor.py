import numpy as np
import pytest
import torch
from torch import nn

from microseg import models
from microseg.errors import ConfigError, InputError
from microseg.infer.predictor import Predictor
from microseg.infer.tta import DIHEDRAL, dihedral, dihedral_inverse
from microseg.models.checkpoint import save_checkpoint


def _unet(**config) -> nn.Module:
    torch.manual_seed(0)
    return models.build("unet", **{"base_channels": 8, "depth": 3, **config}).eval()


def _whole(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(x)[None])[0].numpy()


class Heads(nn.Module):
    """A two-head network: 1 inner-distance map and 3 pixel-wise classes."""

    in_channels = 1

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.distance = nn.Conv2d(1, 1, 3, padding=1)
        self.classes = nn.Conv2d(1, 3, 3, padding=1)

    def forward(self, x):
        return {"inner_distance": self.distance(x), "pixelwise": self.classes(x)}


@pytest.mark.parametrize("shape", [(97, 131), (200, 33), (1, 70), (70, 1), (5, 3), (40, 40)])
def test_tiled_prediction_matches_whole_image(shape):
    model = _unet()
    predictor = Predictor(model, tile=64, overlap=32)
    assert predictor.divisor == 4 == 2 ** (3 - 1)
    x = np.random.default_rng(1).random((1,) + shape, dtype=np.float32)
    tiled = predictor.predict_array(x)
    assert tiled.shape == (3,) + shape
    np.testing.assert_allclose(tiled, _whole(model, x), atol=1e-3)


def test_tiled_prediction_matches_whole_volume_for_a_3d_model():
    model = _unet(dims=3)
    predictor = Predictor(model, tile=16, overlap=8)
    x = np.random.default_rng(2).random((1, 21, 37, 9), dtype=np.float32)
    np.testing.assert_allclose(predictor.predict_array(x), _whole(model, x), atol=1e-3)


def test_batching_and_memory_layout_do_not_change_the_maps():
    model = _unet()
    x = np.random.default_rng(3).random((1, 150, 90), dtype=np.float32)
    reference = Predictor(model, tile=64, overlap=32, batch_size=1,
                          channels_last=False).predict_array(x)
    batched = Predictor(model, tile=64, overlap=32, batch_size=5, channels_last=True)
    np.testing.assert_allclose(batched.predict_array(x), reference, atol=1e-5)


def _equivariant() -> nn.Module:
    """A convolution with a dihedrally symmetric kernel commutes with rotations and flips."""
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight[:] = torch.tensor([[1.0, 2.0, 1.0], [2.0, -4.0, 2.0], [1.0, 2.0, 1.0]])
    return conv.eval()


@pytest.mark.parametrize("tta", ["mean", "max"])
def test_tta_leaves_an_equivariant_model_unchanged(tta):
    image = np.random.default_rng(4).random((70, 45), dtype=np.float32)
    plain = Predictor(_equivariant(), tile=32, overlap=16).predict(image)
    augmented = Predictor(_equivariant(), tile=32, overlap=16, tta=tta).predict(image)
    np.testing.assert_allclose(augmented, plain, atol=1e-5)


def test_tta_mean_is_the_average_of_the_back_mapped_predictions():
    model = _unet()
    predictor = Predictor(model, tile=64, overlap=32)
    x = np.random.default_rng(5).random((1, 48, 40), dtype=np.float32)
    copies = [dihedral_inverse(_whole(model, np.ascontiguousarray(dihedral(x, k, f))), k, f)
              for k, f in DIHEDRAL]
    mean = predictor.predict_array(x, tta="mean")
    np.testing.assert_allclose(mean, np.mean(copies, axis=0), atol=1e-3)
    np.testing.assert_allclose(predictor.predict_array(x, tta="max"), np.max(copies, axis=0),
                               atol=1e-3)
    assert np.abs(mean - _whole(model, x)).max() > 1e-2      # the model is not equivariant


def _recorded_shapes(model: nn.Module) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    model.register_forward_pre_hook(lambda _, inputs: shapes.append(tuple(inputs[0].shape)))
    return shapes


def test_diameter_twice_the_training_diameter_halves_the_image():
    model = _unet()
    shapes = _recorded_shapes(model)      # before the predictor copies the model
    predictor = Predictor(model, meta={"object_diameter": 20.0}, tile=512)
    maps = predictor.predict(np.random.default_rng(6).random((120, 80)), diameter=40.0)
    assert shapes[-1][2:] == (60, 40)
    assert maps.shape == (3, 120, 80)


def test_pixel_size_and_recorded_scale_rescale_the_image():
    model = _unet()
    image = np.random.default_rng(7).random((40, 32))
    shapes = _recorded_shapes(model)
    Predictor(model, meta={"pixel_size": 0.5}).predict(image, pixel_size=1.0)
    assert shapes[-1][2:] == (80, 64)
    Predictor(model, meta={"scale": 0.5}).predict(image)
    assert shapes[-1][2:] == (20, 16)


def test_rescaling_needs_a_recorded_training_scale():
    predictor = Predictor(_unet())
    with pytest.raises(ConfigError, match="diameter"):
        predictor.predict(np.zeros((16, 16)), diameter=10.0)
    with pytest.raises(ConfigError, match="positive"):
        Predictor(_unet(), meta={"object_diameter": 10}).scale_factor(diameter=-1.0)


def test_checkpoint_normalisation_and_activation_are_applied(tmp_path):
    model = _unet()
    path = save_checkpoint(tmp_path / "model.pt", model, {
        "in_channels": 1, "target": {"name": "three_class"},
        "normalization": {"method": "minmax", "percentiles": [1, 99], "per_channel": False}})
    image = np.random.default_rng(8).integers(100, 4000, (50, 60)).astype(np.uint16)
    maps = Predictor(path).predict(image)
    scaled = ((image - image.min()) / (image.max() - image.min())).astype(np.float32)
    expected = torch.softmax(torch.from_numpy(_whole(model, scaled[None])), dim=0).numpy()
    np.testing.assert_allclose(maps, expected, atol=1e-4)
    np.testing.assert_allclose(maps.sum(axis=0), 1.0, atol=1e-5)


def test_checkpoint_dark_background_inverts_a_bright_field_image(tmp_path):
    model = _unet()
    path = save_checkpoint(tmp_path / "model.pt", model, {
        "in_channels": 1, "target": {"name": "three_class"},
        "normalization": {"method": "minmax", "dark_background": True}})
    image = np.full((48, 48), 200, np.uint8)
    image[10:20, 10:20] = 40  # a dark nucleus on a bright field
    image[0, 0] = 0
    scaled = (image / 200.0).astype(np.float32)
    expected = torch.softmax(torch.from_numpy(_whole(model, 1.0 - scaled[None])), dim=0).numpy()
    np.testing.assert_allclose(Predictor(path).predict(image), expected, atol=1e-4)


@pytest.mark.parametrize("meta,expected", [
    ({"target": {"name": "binary"}}, "sigmoid"),
    ({"target": {"name": "fgbg"}}, "softmax"),
    ({"target": {"name": "inner_distance", "b": 1.0}}, "identity"),
    ({"target": {"name": "inner_distance"},
      "training": {"config": {"loss": {"name": "mse", "params": {"activation": "sigmoid"}}}}},
     "sigmoid"),
    ({"target": {"name": "three_class"}, "activation": "identity"}, "identity"),
    ({}, "identity"),
])
def test_activation_follows_the_checkpoint(meta, expected):
    predictor = Predictor(_unet(), meta=meta)
    assert predictor.activations == {None: expected}
    x = np.random.default_rng(9).random((1, 16, 16), dtype=np.float32)
    raw = torch.from_numpy(_whole(predictor.model, x))
    activated = {"sigmoid": torch.sigmoid(raw), "softmax": torch.softmax(raw, 0),
                 "identity": raw}[expected].numpy()
    np.testing.assert_allclose(predictor.predict_array(x), activated, atol=1e-5)


def test_multi_head_model_gives_a_map_per_head():
    meta = {"target": {"heads": {"inner_distance": {"name": "inner_distance"},
                                 "pixelwise": {"name": "pixelwise"}}}}
    predictor = Predictor(Heads(), meta=meta, tile=32, overlap=8)
    assert predictor.heads == [("inner_distance", 1), ("pixelwise", 3)]
    maps = predictor.predict(np.random.default_rng(10).random((50, 41)))
    assert set(maps) == {"inner_distance", "pixelwise"}
    assert maps["inner_distance"].shape == (1, 50, 41) and maps["pixelwise"].shape == (3, 50, 41)
    np.testing.assert_allclose(maps["pixelwise"].sum(axis=0), 1.0, atol=1e-5)
    assert maps["inner_distance"].min() < 0 or maps["inner_distance"].max() > 1  # identity


def test_channels_follow_the_model():
    rgb = np.random.default_rng(11).integers(0, 255, (20, 24, 3)).astype(np.uint8)
    grey_model = nn.Conv2d(1, 1, 1, bias=False).eval()
    with torch.no_grad():
        grey_model.weight.fill_(1.0)
    maps = Predictor(grey_model, meta={"normalization": {"method": "none"}}).predict(rgb)
    np.testing.assert_allclose(maps[0], rgb @ np.array([0.299, 0.587, 0.114]), rtol=1e-5)
    colour_model = nn.Conv2d(3, 3, 1, bias=False).eval()
    with torch.no_grad():
        colour_model.weight[:] = torch.eye(3)[:, :, None, None]
    replicated = Predictor(colour_model, meta={"normalization": {"method": "none"}}).predict(
        rgb[..., 0])
    np.testing.assert_allclose(replicated, np.repeat(rgb[None, ..., 0], 3, axis=0), rtol=1e-6)


def test_channel_axis_selects_multi_channel_input():
    model = nn.Conv2d(2, 1, 1, bias=False).eval()
    with torch.no_grad():
        model.weight[:] = torch.tensor([1.0, -1.0])[None, :, None, None]
    image = np.random.default_rng(12).random((30, 2, 20)).astype(np.float32)
    predictor = Predictor(model, meta={"normalization": {"method": "none"}})
    maps = predictor.predict(image, channel_axis=1)
    np.testing.assert_allclose(maps[0], image[:, 0] - image[:, 1], atol=1e-6)
    with pytest.raises(InputError, match="2 channel"):
        predictor.predict(np.zeros((3, 20, 20)), channel_axis=0)


def test_bad_settings_and_inputs_are_refused():
    with pytest.raises(ConfigError):
        Predictor(_unet(), tta="median")
    with pytest.raises(ConfigError):
        Predictor(_unet(), backend="tensorrt")
    with pytest.raises(InputError, match="stack"):
        Predictor(_unet(dims=3)).predict(np.zeros((32, 32)))
    with pytest.raises(InputError):
        Predictor(_unet()).predict(np.zeros((2, 3, 4, 5)))
    with pytest.raises(InputError, match="checkpoint not found"):
        Predictor("/nonexistent/model.pt")


def test_bfloat16_precision_gives_close_float32_maps():
    model = _unet()
    image = np.random.default_rng(11).random((96, 80)).astype(np.float32)
    softmax = {"activation": "softmax"}
    full = Predictor(model, meta=softmax, tile=64, overlap=16).predict(image)
    half = Predictor(model, meta=softmax, tile=64, overlap=16, precision="bfloat16")
    maps = half.predict(image)
    assert maps.dtype == np.float32 and maps.shape == full.shape
    np.testing.assert_allclose(maps.sum(axis=0), 1.0, atol=1e-5)   # softmax ran in float32
    assert 0 < np.abs(maps - full).max() < 0.1                      # rounded, not another model
    with pytest.raises(ConfigError, match="precision"):
        Predictor(model, precision="float16")
    with pytest.raises(ConfigError, match="torch backend"):
        Predictor(model, backend="onnxruntime", precision="bfloat16")


def test_an_integer_image_gives_the_maps_of_its_float_copy():
    predictor = Predictor(_unet(), tile=64, overlap=32)
    image = np.random.default_rng(5).integers(100, 4000, (70, 90)).astype(np.uint16)
    from_integers = predictor.prediction(image).maps
    from_floats = predictor.prediction(image.astype(np.float32)).maps
    np.testing.assert_allclose(from_integers, from_floats, atol=1e-5)
