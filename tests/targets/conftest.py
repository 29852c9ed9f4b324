"""Label images shared by the target tests."""
import numpy as np
import pytest
from skimage.segmentation import expand_labels


def _random_cells(shape, n, distance, seed=0):
    """Seeds at random positions grown by ``distance`` pixels: a mix of touching and lone cells."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros(shape, np.uint16)
    seeds[tuple(rng.integers(0, s, n) for s in shape)] = np.arange(1, n + 1)
    return expand_labels(seeds, distance)


@pytest.fixture
def random_cells():
    return _random_cells


@pytest.fixture
def touching_squares():
    """(12, 16) image: cell 1 at rows 3–8, cols 3–7 and cell 2 at rows 3–8, cols 8–12."""
    labels = np.zeros((12, 16), np.uint16)
    labels[3:9, 3:8] = 1
    labels[3:9, 8:13] = 2
    return labels
