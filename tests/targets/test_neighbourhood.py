"""Label-aware neighbourhood filters against a brute-force scan of every pixel."""
import itertools

import numpy as np
import pytest

from microseg.targets.neighbourhood import (between_cells, box_size, cross, differs_nearby,
                                           label_centroids)


def brute_force(labels, offsets, count_background, outside):
    out = np.zeros(labels.shape, bool)
    for pixel in itertools.product(*map(range, labels.shape)):
        own = labels[pixel]
        for offset in offsets:
            q = tuple(p + o for p, o in zip(pixel, offset))
            inside = all(0 <= c < n for c, n in zip(q, labels.shape))
            other = labels[q] if inside else (0 if outside else own)
            if other != own and (count_background or other != 0):
                out[pixel] = True
    return out


@pytest.mark.parametrize("count_background, outside", [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("shape", [(9, 11), (4, 6, 7)])
def test_diamond_and_box_neighbourhoods(shape, count_background, outside):
    labels = np.random.default_rng(0).integers(0, 4, shape).astype(np.uint16) * 7
    ndim = len(shape)
    diamond = [o for o in itertools.product(range(-2, 3), repeat=ndim) if sum(map(abs, o)) <= 2]
    box = list(itertools.product(range(-1, 2), repeat=ndim))
    np.testing.assert_array_equal(
        differs_nearby(labels, footprint=cross(ndim), iterations=2,
                       count_background=count_background, outside=outside),
        brute_force(labels, diamond, count_background, outside))
    np.testing.assert_array_equal(
        differs_nearby(labels, size=box_size(ndim, 1), count_background=count_background,
                       outside=outside),
        brute_force(labels, box, count_background, outside))


def test_in_plane_neighbourhoods_have_no_z_extent():
    assert box_size(3, 2, in_plane=True) == (1, 5, 5)
    footprint = cross(3, in_plane=True)
    assert footprint.sum() == 5 and not footprint[0].any() and not footprint[2].any()


def test_centroids():
    labels = np.zeros((5, 6), np.uint8)
    labels[1:4, 1:3] = 2
    labels[4, 5] = 4
    centroids = label_centroids(labels)
    np.testing.assert_allclose(centroids[2], [2.0, 1.5])
    np.testing.assert_allclose(centroids[4], [4.0, 5.0])
    assert np.isnan(centroids[1]).all() and np.isnan(centroids[3]).all()


@pytest.mark.parametrize("shape, radius", [((9, 11), 1), ((10, 8), 2), ((4, 6, 7), 1)])
def test_between_cells_marks_boxes_with_two_labels(shape, radius):
    labels = np.random.default_rng(3).integers(0, 4, shape).astype(np.uint16)
    labels[labels == 3] = 0                       # plenty of background
    expected = np.zeros(shape, bool)
    for pixel in itertools.product(*map(range, shape)):
        box = tuple(slice(max(p - radius, 0), p + radius + 1) for p in pixel)
        expected[pixel] = len(set(np.unique(labels[box])) - {0}) >= 2
    np.testing.assert_array_equal(between_cells(labels, radius), expected)


def test_between_cells_ignores_lone_cells_and_the_gap_to_background():
    labels = np.zeros((1, 14), np.uint16)
    labels[0, 1:4] = 1
    labels[0, 5:8] = 2                            # one background pixel between 1 and 2
    labels[0, 11:13] = 3                          # three background pixels from 2
    assert np.flatnonzero(between_cells(labels, 1)).tolist() == [4]
    # radius 2: the rims next to the one-pixel gap, and the middle of the three-pixel gap
    assert np.flatnonzero(between_cells(labels, 2)).tolist() == [3, 4, 5, 9]
