"""Degradations for robustness sweeps do what their names say, measured on images whose answer is
known: identity levels change nothing, noise follows Poisson statistics, blur and illumination
match scipy, scale moves labels with the image, spots are unlabelled bright outliers."""
import numpy as np
import pytest
from scipy import ndimage as ndi

from microseg.data.degrade import DARK_PHOTONS, IDENTITY, KINDS, PHOTONS, READ_NOISE, degrade
from microseg.errors import InputError


def disc_image(shape=(200, 200), background=100.0, level=300.0):
    """One disc of intensity ``level`` on ``background``, and its labels."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    labels = (((yy - 100) ** 2 + (xx - 100) ** 2) < 40 ** 2).astype(np.uint16)
    return np.where(labels > 0, level, background).astype(np.uint16), labels


@pytest.mark.parametrize("kind", KINDS)
def test_identity_levels_change_nothing(kind):
    image, labels = disc_image()
    out, out_labels = degrade(image, labels, kind, IDENTITY[kind], np.random.default_rng(0))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, image)
    assert out_labels is labels


def test_dimmed_signal_keeps_the_mean_contrast_and_adds_poisson_gaussian_noise():
    image, labels = disc_image()
    out, _ = degrade(image, labels, "signal", 0.25, np.random.default_rng(0))
    inside, outside = out[labels > 0], out[labels == 0]
    # contrast: a quarter of 200 intensity units above a background of 100
    assert inside.mean() - outside.mean() == pytest.approx(50.0, rel=0.02)
    assert outside.mean() == pytest.approx(100.0, abs=0.5)
    # noise, in photons: variance = mean photons + read noise²; 200 intensity units = 200 photons
    gain = PHOTONS / 200.0
    expected_bg = np.sqrt(DARK_PHOTONS + READ_NOISE ** 2) / gain
    expected_obj = np.sqrt(DARK_PHOTONS + 0.25 * PHOTONS + READ_NOISE ** 2) / gain
    assert outside.std() == pytest.approx(expected_bg, rel=0.05)
    assert inside.std() == pytest.approx(expected_obj, rel=0.05)


def test_blur_and_illumination_match_their_definitions():
    image, labels = disc_image()
    blurred, _ = degrade(image, labels, "blur", 2.0, np.random.default_rng(0))
    np.testing.assert_allclose(blurred, ndi.gaussian_filter(image.astype(np.float64), 2.0,
                                                            mode="mirror"), rtol=1e-5)
    tilted, _ = degrade(image, labels, "illumination", 0.5, np.random.default_rng(0))
    assert tilted[0, 0] == pytest.approx(0.5 * 100) and tilted[-1, -1] == pytest.approx(1.5 * 100)
    assert tilted[100, 100] == pytest.approx(300.0, rel=0.01)


def test_gamma_keeps_the_extremes_and_bends_between():
    image, labels = disc_image()
    image[0, 0] = 200                               # a mid value: (200-100)/(300-100) = 0.5
    out, _ = degrade(image, labels, "gamma", 2.0, np.random.default_rng(0))
    assert out.min() == 100 and out.max() == 300
    assert out[0, 0] == pytest.approx(100 + 200 * 0.25)


def test_scale_resamples_labels_with_the_image():
    image, labels = disc_image()
    out, out_labels = degrade(image, labels, "scale", 0.5, np.random.default_rng(0))
    assert out.shape == out_labels.shape == (100, 100)
    assert (out_labels > 0).sum() == pytest.approx(np.pi * 20 ** 2, rel=0.05)
    assert out[out_labels > 0].mean() == pytest.approx(300.0, rel=0.02)


def test_spots_are_bright_unlabelled_outliers_at_the_given_density():
    image, labels = disc_image((1000, 1000))
    out, out_labels = degrade(image, labels, "spots", 50.0, np.random.default_rng(0))
    np.testing.assert_array_equal(out_labels, labels)
    peaks = out - image
    _, count = ndi.label(peaks > 0.5 * 5 * 200)
    assert 30 <= count <= 70                     # Poisson(50) spots on 1 MP (a few may touch)
    assert peaks.max() >= 0.9 * 5 * 200          # peak 5 object levels above background


def test_rgb_images_are_degraded_per_channel_and_bad_input_is_refused():
    image, labels = disc_image()
    rgb = np.stack([image, image // 2, image // 4], axis=-1)
    out, _ = degrade(rgb, labels, "blur", 1.0, np.random.default_rng(0))
    assert out.shape == rgb.shape
    np.testing.assert_allclose(out[..., 1], ndi.gaussian_filter((image // 2).astype(float), 1.0,
                                                                mode="mirror"), rtol=1e-5)
    with pytest.raises(InputError, match="unknown"):
        degrade(image, labels, "fog", 1.0, np.random.default_rng(0))
    with pytest.raises(InputError, match="differ"):
        degrade(image, labels[:10], "blur", 1.0, np.random.default_rng(0))
