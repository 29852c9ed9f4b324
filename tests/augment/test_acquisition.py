"""Acquisition augmentation behaves like the physics it models: shot noise grows with the signal,
lower contrast means lower SNR, blur smooths, inversion flips polarity, the result is normalised as
inference normalises, and labels never change."""
import numpy as np
import pytest
from scipy import ndimage as ndi

from microseg.augment import AcquisitionConfig, AugmentConfig, Augmenter, augment_acquisition
from microseg.config import from_dict
from microseg.errors import ConfigError
from microseg.preprocess.normalize import normalize_percentile

QUIET = dict(p=1.0, signal=(1.0, 1.0), photons=(1e9, 1e9), read_noise=0.0, blur_p=0.0,
             illumination=0.0, spots_p=0.0, invert=0.0)


def halves(shape=(128, 128)):
    """Left half background 0, right half object level 1: ``(1, Y, X)`` float32."""
    image = np.zeros((1, *shape), np.float32)
    image[..., shape[-1] // 2:] = 1.0
    return image


def draw(image, seed=0, **changes):
    return augment_acquisition(image, AcquisitionConfig(**{**QUIET, **changes}),
                               np.random.default_rng(seed))


def test_without_degradation_the_image_is_only_normalised_again():
    image = np.random.default_rng(0).random((1, 40, 50), dtype=np.float32) * 3 + 2
    out = draw(image)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, normalize_percentile(image, 1.0, 99.8), atol=1e-4)


def test_shot_noise_variance_grows_with_the_signal_as_poisson_noise_does():
    # Poisson: variance ∝ mean. Background sits at the dark offset 0.1, objects at 1.1, so the
    # standard deviations differ by √11 whatever the normalisation's (linear) scale.
    out = draw(halves((256, 256)), photons=(50.0, 50.0), offset=0.1)[0]
    ratio = out[:, 128:].std() / out[:, :128].std()
    assert ratio == pytest.approx(np.sqrt(11.0), rel=0.05)


def test_less_signal_gives_less_contrast_to_noise():
    def snr(signal):
        out = draw(halves(), photons=(100.0, 100.0), signal=(signal, signal))[0]
        return (out[:, 64:].mean() - out[:, :64].mean()) / out[:, :64].std()
    full, eighth = snr(1.0), snr(0.125)
    assert eighth < full / 2


def test_inversion_flips_polarity_of_the_same_draw():
    image = halves()
    plain = draw(image, seed=3, photons=(30.0, 30.0), blur_p=1.0)
    inverted = draw(image, seed=3, photons=(30.0, 30.0), blur_p=1.0, invert=1.0)
    np.testing.assert_allclose(inverted, 1.0 - plain, atol=1e-6)
    assert inverted[0, :, 64:].mean() < inverted[0, :, :64].mean()


def test_blur_smooths_a_step_edge():
    sharp = np.abs(np.diff(draw(halves())[0], axis=1)).max()
    blurred = np.abs(np.diff(draw(halves(), blur=3.0, blur_p=1.0)[0], axis=1)).max()
    assert sharp == pytest.approx(1.0, abs=1e-3) and blurred < 0.5


def test_illumination_tilts_a_flat_field_within_its_strength():
    image = np.ones((1, 64, 64), np.float32)
    image[0, 0, 0] = 0.0                        # something to normalise against
    out = draw(image, seed=1, illumination=0.4, percentiles=(0.0, 100.0))[0]
    flat = out[1:, 1:]
    assert flat.max() > flat.min() + 0.05       # tilted
    # the field lies in [1 - a, 1 + a] with a ≤ 0.4, so the brightest/dimmest ratio is ≤ 1.4/0.6
    assert flat.max() / flat.min() <= 1.4 / 0.6 + 1e-3


def test_bright_outliers_are_at_most_the_drawn_spots_and_dim_the_objects():
    image = np.zeros((1, 96, 96), np.float32)
    image[0, 40:60, 40:60] = 1.0
    outs = [draw(image, seed=s, spots=5, spots_p=1.0, spot_brightness=(6.0, 8.0))[0]
            for s in range(10)]
    for out in outs:
        level = np.median(out[40:60, 40:60])
        regions, count = ndi.label(out > level + 0.05)
        areas = ndi.sum(np.ones_like(out), regions, range(1, count + 1))
        assert np.sum(areas >= 5) <= 5          # (a spot on the object's edge leaves slivers)
    # spots 6–8× the object level take the 99.8th percentile: the object comes out dim, as on a
    # stranger's image with dust or bright chromatin
    assert min(np.median(out[40:60, 40:60]) for out in outs) < 0.5


def test_augmenter_applies_it_and_leaves_labels_alone():
    image = halves((48, 48))
    labels = (image[0] > 0).astype(np.uint16)
    config = AugmentConfig(flip=False, rot90=False,
                           acquisition=AcquisitionConfig(p=1.0, invert=1.0))
    out_image, out_labels = Augmenter(config)(image, labels, np.random.default_rng(0))
    np.testing.assert_array_equal(out_labels, labels)
    assert out_image[0][labels == 1].mean() < out_image[0][labels == 0].mean()


def test_configuration_from_yaml_and_its_errors():
    config = from_dict(AugmentConfig, {"acquisition": {"p": 0.5, "signal": [0.25, 1],
                                                       "invert": 0.5}})
    assert config.acquisition.signal == (0.25, 1.0) and config.acquisition.invert == 0.5
    for bad in ({"p": 2}, {"signal": [0, 1]}, {"photons": [10, 1]}, {"blur": -1},
                {"percentiles": [99, 1]}, {"spots": -1}, {"invert": -0.1}):
        with pytest.raises(ConfigError):
            AcquisitionConfig(**{**bad})
