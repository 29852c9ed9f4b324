import numpy as np
import pytest

from microseg.errors import InputError
from microseg.preprocess.normalize import (Normalization, count_percentiles, integer_percentiles,
                                           intensity_range, normalize_minmax,
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


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int16, np.int32])
def test_integer_percentiles_are_numpys_linear_percentiles(dtype):
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    for size in (1, 2, 5, 999, 40_000):
        values = rng.integers(max(info.min, -70_000), min(info.max, 70_000), size,
                              endpoint=True).astype(dtype)
        values[0] = info.min
        percentiles = (0.0, 1.0, 12.5, 50.0, 99.8, 100.0, *rng.uniform(0, 100, 4))
        # numpy on the int64 copy: on int8 / int16 numpy itself wraps around in b - a
        expected = np.percentile(values.astype(np.int64), percentiles)
        np.testing.assert_array_equal(integer_percentiles(values, percentiles), expected)


def test_integer_percentiles_of_a_wide_range_and_images_normalised_either_way():
    wide = np.array([0, 5, 2**30, 7], dtype=np.int64)
    assert integer_percentiles(wide, (25, 75)) == tuple(np.percentile(wide, (25, 75)))
    image = np.random.default_rng(4).integers(90, 700, (64, 80)).astype(np.uint16)
    as_int = normalize_percentile(image)
    assert as_int.dtype == np.float32
    np.testing.assert_allclose(as_int, normalize_percentile(image.astype(np.float32)),
                               atol=1e-6)


def test_intensity_range_spans_every_image_of_a_sequence_read_one_at_a_time():
    frames = [np.array([[5, 7], [6, 6]], np.uint16), np.array([[2, 9]], np.uint16),
              np.full((1, 3, 3), 4.5, np.float32)]
    read = []

    def lazily():
        for frame in frames:
            read.append(len(read))
            yield frame

    assert intensity_range(lazily()) == (2.0, 9.0) and read == [0, 1, 2]
    assert intensity_range([frames[2]]) == (4.5, 4.5)
    with pytest.raises(InputError, match="no image"):
        intensity_range([])



def test_count_percentiles_of_a_histogram_equal_numpys_of_the_values():
    rng = np.random.default_rng(3)
    values = rng.integers(100, 400, 5001)
    counts = np.bincount(values - 100)
    expected = np.percentile(values, [0, 1, 37.5, 99.8, 100])
    np.testing.assert_allclose(count_percentiles(counts, 100, (0, 1, 37.5, 99.8, 100)), expected)


@pytest.mark.parametrize("per_channel", [False, True])
def test_levels_of_the_whole_image_normalise_a_block_as_the_whole_image(per_channel):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 4000, (2, 40, 50)).astype(np.uint16)
    image[1] //= 4
    norm = Normalization(percentiles=[2.0, 98.0], per_channel=per_channel)
    axis = (1, 2) if per_channel else None
    low, high = np.percentile(image, [2.0, 98.0], axis=axis)
    levels = norm.levels(np.ravel(low), np.ravel(high))
    whole = norm(image)
    block = (slice(None), slice(5, 17), slice(30, 50))
    # per channel, the whole image's percentiles are taken in float32: equal to the last bit
    np.testing.assert_allclose(norm(image[block], levels=levels), whole[block], rtol=0,
                               atol=0 if not per_channel else 2e-7)
    assert norm.apply(image[block], levels=norm.levels(np.ravel(low), np.ravel(high),
                                                       inverted=True))[1] is True


def test_range_percentiles_name_what_each_method_maps_to_0_and_1():
    assert Normalization(percentiles=[1.0, 99.0]).range_percentiles() == (1.0, 99.0)
    assert Normalization(method="minmax").range_percentiles() == (0.0, 100.0)
    assert Normalization(method="none").range_percentiles() is None
    minmax = Normalization(method="minmax")
    image = np.array([[[2.0, 4.0, 10.0]]], np.float32)
    np.testing.assert_array_equal(minmax(image, levels=minmax.levels([2.0], [10.0])),
                                  minmax(image))
