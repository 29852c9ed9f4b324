"""One normalisation for all blocks: the whole image's, taken block by block."""
import dask.array as da
import numpy as np
import pytest
import torch
from torch import nn

from microseg.infer.predictor import Predictor
from microseg.scale.levels import image_levels


def _predictor(normalization: dict, channels: int = 1) -> Predictor:
    conv = nn.Conv2d(channels, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    return Predictor(conv.eval(), meta={"activation": "identity",
                                        "normalization": normalization})


def test_16_bit_levels_are_the_whole_images_percentiles_exactly():
    rng = np.random.default_rng(0)
    image = rng.gamma(2.0, 300.0, (300, 200)).astype(np.uint16)
    predictor = _predictor({"method": "percentile", "percentiles": [1.0, 99.8]})
    levels = image_levels(da.from_array(image, chunks=(64, 50)), predictor, (0, 1), None, "2d")
    assert (levels.low, levels.high) == ((np.percentile(image, 1.0),),
                                         (np.percentile(image, 99.8),))
    whole = predictor.normalization(image[None])
    np.testing.assert_array_equal(levels.apply(image[None, 64:128, 50:100]),
                                  whole[:, 64:128, 50:100])


def test_float_levels_come_from_a_grid_of_pixels():
    rng = np.random.default_rng(1)
    image = rng.normal(10.0, 2.0, (3, 400, 300)).astype(np.float32)
    predictor = _predictor({"method": "percentile", "percentiles": [1.0, 99.0],
                            "per_channel": True}, channels=3)
    image[1] *= 3
    levels = image_levels(da.from_array(image, chunks=(3, 100, 100)), predictor, (1, 2), 0,
                          "2d")
    expected = np.percentile(image, [1.0, 99.0], axis=(1, 2))
    np.testing.assert_allclose(levels.low, expected[0], rtol=0.02)
    np.testing.assert_allclose(levels.high, expected[1], rtol=0.02)


@pytest.mark.parametrize("bright", [False, True])
def test_a_bright_background_is_inverted_for_every_block(bright):
    image = np.full((200, 200), 1000 if bright else 100, np.uint16)
    image[50:80, 50:80] = 100 if bright else 1000
    predictor = _predictor({"method": "minmax", "dark_background": True})
    levels = image_levels(da.from_array(image, chunks=50), predictor, (0, 1), None, "2d")
    assert levels.inverted is bright
    block = levels.apply(image[None, 40:90, 30:80])      # objects bright, background dark
    assert block.max() == 1.0 and block[0, 0, 0] == 0.0
