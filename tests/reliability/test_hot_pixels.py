"""Isolated hot pixels (camera defects, cosmic rays; alone or in pairs) that take over the high
percentile are replaced by a neighbour's value, with a warning; images without them, and small real
objects, are normalised exactly as before."""
import warnings

import numpy as np
import pytest

import microseg as ms
from microseg.data import synthetic
from microseg.errors import InputWarning
from microseg.metrics import match
from microseg.preprocess.normalize import integer_percentiles, normalize_percentile


def _normalised(image):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = normalize_percentile(image)
    return out, [str(w.message) for w in caught if issubclass(w.category, InputWarning)]


def _with_hot_pixels(image, fraction, value, seed=0):
    rng = np.random.default_rng(seed)
    hot = image.copy()
    flat = hot.reshape(-1)
    index = rng.choice(flat.size, int(fraction * flat.size), replace=False)
    flat[index] = value
    return hot, index


def test_an_image_without_hot_pixels_is_normalised_by_its_plain_percentiles():
    image = synthetic.generate("nuclei2d", seed=0, shape=(256, 256)).image
    out, messages = _normalised(image)
    lo, hi = integer_percentiles(image, (1.0, 99.8))
    np.testing.assert_allclose(out, (image - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    assert messages == []


def test_small_real_spots_of_a_few_pixels_are_not_hot_pixels():
    image = np.full((128, 128), 100, np.uint16)
    rng = np.random.default_rng(1)
    for y, x in rng.integers(2, 126, size=(40, 2)):          # 3×3 spots, blurred by the optics
        image[y - 1:y + 2, x - 1:x + 2] = 2000
        image[y, x] = 3000
    out, messages = _normalised(image)
    lo, hi = integer_percentiles(image, (1.0, 99.8))
    np.testing.assert_allclose(out, (image - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    assert messages == []


def test_hot_pixels_that_hijack_the_percentile_are_replaced_and_reported():
    image = synthetic.generate("nuclei2d", seed=2, shape=(256, 256)).image
    hot, index = _with_hot_pixels(image, 0.003, 65535)
    out, messages = _normalised(hot)
    assert any("isolated hot pixel" in m for m in messages)
    reference, _ = _normalised(image)
    # away from the replaced pixels the image is normalised as the clean one (within the small
    # change of percentiles the replaced values bring)
    keep = np.ones(image.size, bool)
    keep[index] = False
    assert np.abs(out.reshape(-1)[keep] - reference.reshape(-1)[keep]).max() < 0.05


@pytest.mark.parametrize("fraction, value", [(0.003, 65535), (0.01, 65535)])
def test_hot_pixels_no_longer_erase_every_object(fraction, value):
    sample = synthetic.generate("nuclei2d", seed=3, shape=(256, 256))
    clean = ms.segment(sample.image, "default")
    hot, _ = _with_hot_pixels(sample.image, fraction, value, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        labels = ms.segment(hot, "default")
    assert match(sample.labels, clean, 0.5).f1 > 0.6       # the model works on this image
    assert match(clean, labels, 0.5).f1 > 0.85             # and the hot pixels change little
