"""Centre heatmap: peaks at the centres with the expected Gaussian fall-off."""
import numpy as np
import pytest
from skimage.draw import disk
from skimage.morphology import ball

from microseg.targets import CenterHeatmap


def test_peak_at_the_centre_of_a_disk():
    labels = np.zeros((61, 61), np.uint16)
    labels[disk((30, 30), 12, shape=labels.shape)] = 5
    out = CenterHeatmap()(labels)[0]
    sigma = np.sqrt(np.count_nonzero(labels) / np.pi) / 3
    assert np.unravel_index(out.argmax(), out.shape) == (30, 30) and out[30, 30] == 1
    assert out[30, 34] == pytest.approx(np.exp(-16 / (2 * sigma ** 2)), rel=1e-5)
    assert out[27, 26] == pytest.approx(np.exp(-25 / (2 * sigma ** 2)), rel=1e-5)
    assert out[30, 30 + int(np.ceil(3 * sigma)) + 1] == 0     # beyond the drawn window


def test_one_peak_per_cell_and_min_sigma():
    labels = np.zeros((20, 40), np.uint8)
    labels[10, 5] = 1                   # a single pixel: σ = min_sigma = 1
    labels[5:15, 25:35] = 2
    out = CenterHeatmap()(labels)[0]
    assert out[10, 5] == 1 and out[10, 6] == pytest.approx(np.exp(-0.5))
    assert out[10, 30] == 1                 # centroid (9.5, 29.5) rounds to even: (10, 30)
    assert np.count_nonzero(out == 1) == 2


def test_overlapping_gaussians_combine_by_maximum():
    labels = np.zeros((9, 30), np.uint8)
    labels[4, 10] = 1
    labels[4, 13] = 2
    out = CenterHeatmap(min_sigma=2.0)(labels)[0]
    assert out[4, 11] == pytest.approx(np.exp(-1 / 8))
    assert out[4, 12] == pytest.approx(np.exp(-1 / 8))


def test_3d_peak_at_the_centre_of_a_ball():
    labels = np.pad(ball(5).astype(np.uint8), 3)
    out = CenterHeatmap()(labels)[0]
    assert out[8, 8, 8] == 1 and np.count_nonzero(out == 1) == 1
    sigma = (np.count_nonzero(labels) / (4 / 3 * np.pi)) ** (1 / 3) / 3
    assert out[8, 8, 10] == pytest.approx(np.exp(-4 / (2 * sigma ** 2)), rel=1e-5)
