"""to_channels: an image as read → (C, *spatial) with the model's channels."""
import numpy as np
import pytest

from microseg.errors import InputError
from microseg.preprocess.channels import to_channels
from microseg.preprocess.normalize import to_grey


def test_to_channels_rejects_bad_layouts():
    with pytest.raises(InputError, match="im.tif"):
        to_channels(np.zeros((4, 5, 6)), 1, 2, "im.tif")
    assert to_channels(np.zeros((4, 5, 6)), 1, 3).shape == (1, 4, 5, 6)
    assert to_channels(np.zeros((5, 6, 3)), 3).shape == (3, 5, 6)


def test_to_channels_converts_colour_to_grey_and_grey_to_rgb():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 100, 50, 10, 7
    grey = to_channels(rgba, 1)
    np.testing.assert_allclose(grey, 0.299 * 100 + 0.587 * 50 + 0.114 * 10, rtol=1e-6)
    np.testing.assert_array_equal(grey[0], to_grey(rgba))
    rgb = to_channels(rgba, 3)
    assert rgb.dtype == np.float32 and rgb.shape == (3, 2, 3)
    assert [float(c.max()) for c in rgb] == [100.0, 50.0, 10.0]    # alpha dropped
    replicated = to_channels(np.arange(6, dtype=np.uint8).reshape(2, 3), 3)
    assert all(np.array_equal(c, np.arange(6).reshape(2, 3)) for c in replicated)


def test_to_channels_keeps_grey_integers_for_the_normalisation_to_count():
    grey = np.arange(30, dtype=np.uint16).reshape(5, 6)
    kept = to_channels(grey, 1)
    assert kept.dtype == np.uint16 and np.array_equal(kept[0], grey)
    assert to_channels(grey.astype(bool), 1).dtype == np.float32
    assert to_channels(np.stack([grey] * 3, -1), 1).dtype == np.float32   # luminance
    assert to_channels(grey, 3).dtype == np.float32
