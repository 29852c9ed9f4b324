"""Elastic displacement fields have Simard's statistics."""
import numpy as np
import pytest
from scipy import ndimage as ndi

from microseg.augment import elastic_displacement


@pytest.mark.parametrize("sigma", [3.0, 6.0])
def test_strength_follows_alpha_and_sigma(sigma):
    rng = np.random.default_rng(0)
    fields = [elastic_displacement((128, 128), 50.0, sigma, rng) for _ in range(10)]
    assert fields[0].shape == (2, 128, 128)
    # uniform noise has variance 1/3; a normalised 2D Gaussian keeps 1 / (4π σ²) of it
    expected = 50.0 / (np.sqrt(3) * 2 * np.sqrt(np.pi) * sigma)
    assert np.sqrt(np.mean([f.var() for f in fields])) == pytest.approx(expected, rel=0.1)


def test_field_is_smooth_on_the_scale_of_sigma():
    field = elastic_displacement((128, 128), 50.0, 8.0, np.random.default_rng(1))[0]
    # neighbouring pixels barely differ; pixels several σ apart are nearly independent
    near = np.corrcoef(field[:, :-1].ravel(), field[:, 1:].ravel())[0, 1]
    far = np.corrcoef(field[:, :-40].ravel(), field[:, 40:].ravel())[0, 1]
    assert near > 0.99 and abs(far) < 0.2


def test_matches_a_spatial_gaussian_filter_of_the_same_noise():
    rng = np.random.default_rng(2)
    noise = np.random.default_rng(2).uniform(-1.0, 1.0, size=(2, 64, 64))
    field = elastic_displacement((64, 64), 10.0, 2.0, rng)
    spatial = 10.0 * ndi.gaussian_filter(noise[0], 2.0, mode="wrap")
    np.testing.assert_allclose(field[0], spatial, atol=1e-3)
