import numpy as np
import pytest

from microseg.preprocess.normalize import (Normalization, normalize_minmax,
                                           normalize_percentile, to_grey)


@pytest.mark.parametrize("clip", [False, True])
def test_percentile_maps_the_percentiles_to_0_and_1(clip):
    image = np.arange(101, dtype=np.uint16).reshape(1, 101)  # percentile p is the value p
    out = normalize_percentile(image, 10, 90, clip=clip)
    assert out.dtype == np.float32
    assert out[0, 10] == pytest.approx(0.0) and out[0, 90] == pytest.approx(1.0)
    assert out[0, 50] == pytest.approx(0.5)
    assert (out.min(), out.max()) == ((0.0, 1.0) if clip else (pytest.approx(-0.125),
                                                               pytest.approx(1.125)))


def test_percentile_per_channel_and_constant_image():
    image = np.stack([np.arange(100.0).reshape(10, 10), 5 + 2 * np.arange(100.0).reshape(10, 10)])
    out = normalize_percentile(image, 0, 100, axis=(1, 2))
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # each channel on its own scale
    assert not normalize_percentile(np.full((4, 4), 7.0)).any()


def test_minmax_with_a_sequence_range_and_grey():
    np.testing.assert_allclose(normalize_minmax(np.array([10.0, 20.0]), 0, 40), [0.25, 0.5])
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 1] = 100
    np.testing.assert_allclose(to_grey(rgb), 58.7, rtol=1e-5)
    assert to_grey(np.ones((3, 3))).shape == (3, 3)


def test_dark_background_inverts_bright_field_only_and_says_so():
    bright = np.full((1, 10, 10), 0.9, np.float32)  # bright background, two dark objects
    bright[0, 2:4, 2:4] = 0.1
    bright[0, 6:8, 6:8] = 0.2
    norm = Normalization(method="none", dark_background=True)
    out, inverted = norm.apply(bright)
    assert inverted and out.dtype == np.float32
    np.testing.assert_allclose(out, 1.0 - bright, atol=1e-7)
    assert out[0, 2, 2] > out[0, 0, 0]  # objects are now brighter than the background
    np.testing.assert_allclose(norm(bright), out)
    fluorescence = 1.0 - bright
    assert norm.apply(fluorescence)[1] is False
    np.testing.assert_array_equal(norm(fluorescence), fluorescence)
    # without dark_background nothing is inverted, whatever the background
    plain = Normalization(method="none")
    assert plain.apply(bright)[1] is False
    np.testing.assert_array_equal(plain(bright), bright)
