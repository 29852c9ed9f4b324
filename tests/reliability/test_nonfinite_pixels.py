"""Non-finite and extreme pixels: left out of the normalisation's percentiles, replaced or
clipped, reported with their count (and the file where it is known), and without effect on the
objects found elsewhere in the image."""
import warnings

import numpy as np
import pytest
import tifffile

import microseg as ms
from microseg.cli import main
from microseg.data import synthetic
from microseg.errors import InputError, InputWarning, warnings_naming
from microseg.metrics import match
from microseg.preprocess.normalize import Normalization, normalize_percentile


def _recorded(function, *args, **kwargs):
    """``function(*args, **kwargs)`` and the messages of the InputWarnings it issued; any
    RuntimeWarning (overflow, invalid value) fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)
        result = function(*args, **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, InputWarning)]


def test_nan_and_inf_pixels_are_left_out_of_the_percentiles_and_set_to_the_median():
    image = np.r_[np.arange(101.0), np.nan, np.inf, -np.inf][None]   # percentile p is p
    out, messages = _recorded(normalize_percentile, image, 10, 90)
    np.testing.assert_allclose(out[0, :101], (np.arange(101) - 10) / 80, atol=1e-6)
    np.testing.assert_allclose(out[0, 101:], (50 - 10) / 80)          # the median, 50
    assert messages == ["3 of 104 pixels are not finite (NaN or infinite); replaced by the "
                        "median of the others"]


def test_each_channel_is_filled_with_its_own_median():
    image = np.stack([np.arange(9.0), 100 + 10 * np.arange(9.0)]).reshape(2, 3, 3)
    image[1, 0, 0] = np.nan                                 # channel 1: 110..180 remain
    out, messages = _recorded(normalize_percentile, image, 0, 100, axis=(1, 2))
    assert out[1, 0, 0] == pytest.approx((145 - 110) / 70)  # median 145 on 110..180
    np.testing.assert_allclose(out[0].ravel(), np.arange(9) / 8, atol=1e-6)
    assert messages and messages[0].startswith("1 of 18 pixels")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_one_extreme_pixel_moves_neither_percentile_and_is_clipped(dtype):
    image = np.r_[np.arange(1000), 0].astype(dtype)          # 0, 1, …, 999 and one more
    image[-1] = 1e30 if dtype != np.uint16 else 65535      # a hot pixel instead of the 0
    out, messages = _recorded(normalize_percentile, image)
    # 1st / 99.8th percentiles of 1001 values, the extreme one last: positions 10 and 998
    lo, hi = 10, 998
    np.testing.assert_allclose(out[:1000], (np.arange(1000) - lo) / (hi - lo), atol=1e-5)
    assert out[-1] == 21.0                                  # 1 + OUTLIER_SPANS
    assert messages == ["1 pixel(s) lie more than 20 times the 1-99.8 percentile range beyond "
                        "it; clipped to that bound"]


def test_float64_values_beyond_float32_count_as_non_finite_without_overflow():
    image = np.r_[np.arange(100.0), 1e300, -1e300]
    out, messages = _recorded(normalize_percentile, image, 0, 100)
    assert np.isfinite(out).all() and out[-2:].tolist() == pytest.approx([49.5 / 99] * 2)
    assert messages[0].startswith("2 of 102 pixels are not finite")


@pytest.mark.parametrize("method", ["minmax", "none"])
def test_other_methods_replace_non_finite_pixels_too(method):
    image = np.array([[[0.0, 2.0], [np.nan, 4.0]]])
    out, messages = _recorded(Normalization(method=method), image)
    expected = [[0.0, 0.5], [0.5, 1.0]] if method == "minmax" else [[0.0, 2.0], [2.0, 4.0]]
    np.testing.assert_allclose(out[0], expected)
    assert len(messages) == 1


def test_an_image_without_a_finite_pixel_is_an_input_error():
    with pytest.raises(InputError, match="no finite pixel"):
        normalize_percentile(np.full((4, 4), np.nan))
    with pytest.raises(InputError, match="no finite pixel in some channel"):
        normalize_percentile(np.stack([np.ones((2, 2)), np.full((2, 2), np.inf)]), axis=(1, 2))


def test_warnings_naming_names_the_file_and_passes_others_unchanged(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with warnings_naming(tmp_path / "a.tif"):
            normalize_percentile(np.array([1.0, np.nan, 3.0]))
            warnings.warn("unrelated", FutureWarning)
    assert [w.category for w in caught] == [InputWarning, FutureWarning]
    assert str(caught[0].message).startswith(f"{tmp_path / 'a.tif'}: 1 of 3 pixels")
    assert caught[0].message.path == tmp_path / "a.tif"
    assert str(caught[1].message) == "unrelated"


@pytest.fixture(scope="module")
def nuclei():
    """A 128×128 synthetic nuclei image (float32), the bundled default model, and its labels."""
    image = synthetic.generate("nuclei2d", seed=3, shape=(128, 128)).image.astype(np.float32)
    predictor = ms.load_model("default", threads=1)
    return image, predictor, ms.segment(image, predictor)


def _with_pixel(image, value, where=(64, 64)):
    out = image.copy()
    out[where] = value
    return out


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_one_non_finite_pixel_segments_as_that_pixel_set_to_the_background(nuclei, bad):
    image, predictor, clean = nuclei
    assert clean.max() >= 5
    with pytest.warns(InputWarning, match="1 of 16384 pixels are not finite"):
        labels = ms.segment(_with_pixel(image, bad), predictor)
    background = ms.segment(_with_pixel(image, np.median(image)), predictor)
    assert match(background, labels, iou=0.5).f1 == 1.0
    assert np.mean(labels > 0) == pytest.approx(np.mean(background > 0), abs=1e-3)


@pytest.mark.parametrize("extreme", [1e30, 3e38])
def test_one_extreme_pixel_loses_no_object(nuclei, extreme):
    image, predictor, clean = nuclei
    with pytest.warns(InputWarning, match="1 pixel"):
        labels = ms.segment(_with_pixel(image, extreme), predictor)
    assert match(clean, labels, iou=0.5).recall == 1.0


def test_segment_command_reports_the_pixels_and_finds_the_same_objects(nuclei, tmp_path,
                                                                      capsys):
    image, predictor, clean = nuclei
    tifffile.imwrite(tmp_path / "nan.tif", _with_pixel(image, np.nan))
    code = main(["segment", str(tmp_path / "nan.tif"), "--out", str(tmp_path / "out"),
                 "--threads", "1", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0
    assert "microseg segment: warning:" in captured.err
    assert "1 of 16384 pixels are not finite" in captured.err
    labels = tifffile.imread(tmp_path / "out" / "nan_labels.tif")
    assert match(clean, labels, iou=0.5).f1 >= 0.95


def test_ctc_command_names_the_frame_with_the_bad_pixels(nuclei, tmp_path, capsys):
    image = nuclei[0][:96, :96]
    sequence = tmp_path / "01"
    sequence.mkdir()
    for t in range(3):
        frame = _with_pixel(image, np.nan, (10, 10)) if t == 1 else image
        tifffile.imwrite(sequence / f"t{t:03d}.tif", frame)
    code = main(["ctc", str(sequence), "--out", str(tmp_path / "01_RES"), "--threads", "1",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 0
    assert f"warning: {sequence / 't001.tif'}: 1 of 9216 pixels are not finite" in err
    assert "t000.tif" not in err and "t002.tif" not in err
