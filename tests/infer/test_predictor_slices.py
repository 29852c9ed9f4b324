"""A 2D model on a stack: slice-wise prediction with and without Context Aware Pseudocoloring."""
import numpy as np
import pytest
import torch
from torch import nn

from microseg import models
from microseg.infer.predictor import Predictor

A = (slice(4, 12), slice(4, 12))      # square in slice 0
B = (slice(20, 28), slice(20, 28))    # square in slice 2


def _stack() -> np.ndarray:
    """Slice 0: a bright square A; slice 1: flat grey 0.5; slice 2: a bright square B."""
    stack = np.zeros((3, 32, 32), np.float32)
    stack[0][A] = 1.0
    stack[1] = 0.5
    stack[2][B] = 1.0
    return stack


def _identity(channels: int) -> nn.Module:
    """A 1×1 convolution passing its input through: its maps are exactly what it was given."""
    conv = nn.Conv2d(channels, channels, 1, bias=False)
    with torch.no_grad():
        conv.weight[:] = torch.eye(channels)[:, :, None, None]
    return conv.eval()


def test_three_channel_model_gets_pseudocoloured_slices():
    predictor = Predictor(_identity(3))
    assert predictor.z_context == "pseudocolor"
    maps = predictor.predict(_stack())                     # (3, Z, Y, X) = the model input
    assert maps.shape == (3, 3, 32, 32)
    red, green, blue = maps[:, 1]
    # the middle slice is flat 0.5; its neighbours' regions of interest (A below, B above) are
    # added onto it in red and blue: 0.5 + 0.5 = 1 there; the slice maximum is then 1
    np.testing.assert_allclose(green, 0.5)
    expected_red = np.full((32, 32), 0.5)
    expected_red[A] = 1.0
    expected_blue = np.full((32, 32), 0.5)
    expected_blue[B] = 1.0
    np.testing.assert_allclose(red, expected_red, atol=1e-6)
    np.testing.assert_allclose(blue, expected_blue, atol=1e-6)
    # the first slice has no slice below and a flat slice above (no region): all channels equal
    square = np.zeros((32, 32))
    square[A] = 1.0
    for channel in maps[:, 0]:
        np.testing.assert_allclose(channel, square, atol=1e-6)


def test_one_channel_model_gets_the_plain_normalised_slice():
    stack = _stack()
    maps = Predictor(_identity(1), z_context="pseudocolor").predict(stack)
    low, high = np.percentile(stack, [1.0, 99.8])
    np.testing.assert_allclose(maps[0], (stack - low) / (high - low), atol=1e-5)


def test_no_z_context_replicates_the_plain_slice():
    stack = _stack()
    maps = Predictor(_identity(3), z_context="none").predict(stack)
    for channel in maps:
        np.testing.assert_allclose(channel, maps[1], atol=1e-6)
    pseudo = Predictor(_identity(3)).predict(stack, z_context="none")
    np.testing.assert_allclose(pseudo, maps, atol=1e-6)


def test_the_checkpoint_records_the_z_context():
    assert Predictor(_identity(3), meta={"z_context": "none"}).z_context == "none"
    assert Predictor(_identity(1)).z_context == "none"


def test_slicewise_rescaling_acts_on_y_and_x_only():
    torch.manual_seed(0)
    model = models.build("unet", base_channels=4, depth=2).eval()
    shapes = []                   # hook first: the predictor runs a (batch-norm folded) copy
    model.register_forward_pre_hook(lambda _, inputs: shapes.append(tuple(inputs[0].shape)))
    predictor = Predictor(model, meta={"object_diameter": 10})
    shapes.clear()                # the predictor probed the model's heads on a blank input
    stack = np.random.default_rng(0).random((5, 40, 24)).astype(np.float32)
    maps = predictor.predict(stack, diameter=20)
    assert maps.shape == (3, 5, 40, 24)
    assert {s[2:] for s in shapes} == {(20, 12)}
    assert sum(s[0] for s in shapes) == 5        # one slice per network input


@pytest.mark.parametrize("channels,tile", [(1, 64), (3, 64), (1, 16)])
def test_each_slice_is_predicted_like_a_2d_image(channels, tile):
    # tile 64: whole slices batched through the network; tile 16: every slice tiled
    torch.manual_seed(1)
    model = models.build("unet", in_channels=channels, base_channels=4, depth=2).eval()
    stack = np.random.default_rng(1).random((5, 21, 27)).astype(np.float32)
    predictor = Predictor(model, z_context="none", meta={"normalization": {"method": "none"}},
                          tile=tile, overlap=8, batch_size=2)
    maps = predictor.predict(stack)
    for z in range(len(stack)):
        np.testing.assert_allclose(maps[:, z], predictor.predict(stack[z]), atol=1e-5)
