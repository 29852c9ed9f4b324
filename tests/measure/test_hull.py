"""Convex pixel counts against scikit-image's ``convex_hull_image`` object by object."""
import warnings

import numpy as np
import pytest
from skimage.morphology import convex_hull_image

from microseg.measure import convex_count, label_runs, measure


def skimage_convex_count(labels, ids):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [int(convex_hull_image(labels == i).sum()) for i in ids]


@pytest.mark.parametrize("density", [0.002, 0.02, 0.3])
def test_2d_hulls_of_scattered_pixels_are_exact(rng, density):
    """Each label is a random scatter of pixels: hulls with many vertices, lines with gaps,
    rows without pixels inside the hull."""
    labels = np.where(rng.random((60, 70)) < density, rng.integers(1, 9, (60, 70)), 0)
    runs = label_runs(labels)
    assert convex_count(runs).tolist() == skimage_convex_count(labels, runs.ids)


def test_2d_hulls_of_thin_and_slanted_shapes_are_exact():
    labels = np.zeros((40, 40), np.uint16)
    index = np.arange(30)
    labels[index + 2, index // 3 + 1] = 1  # shallow digital line
    labels[index // 7 + 5, index + 8] = 2  # steep digital line
    labels[35, 3:30] = 3  # horizontal bar
    labels[3:30, 38] = 4  # vertical bar
    labels[20, 20] = 5  # single pixel
    labels[25, 25] = labels[31, 33] = 6  # two distant pixels
    runs = label_runs(labels)
    assert convex_count(runs).tolist() == skimage_convex_count(labels, runs.ids)


def test_3d_hulls_match_skimage_for_solid_objects(rng):
    grid = np.indices((12, 14, 16)).astype(float)
    labels = np.zeros((12, 14, 16), np.uint16)
    for label, (centre, radii) in enumerate([((5, 6, 7), (4, 5, 3)), ((6, 7, 8), (2, 6, 7))], 1):
        inside = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii)) <= 1
        labels[inside & (rng.random(labels.shape) < 0.7)] = label  # ragged, holed ellipsoids
    runs = label_runs(labels)
    assert convex_count(runs).tolist() == skimage_convex_count(labels, runs.ids)


def test_flat_3d_object_has_the_solidity_of_its_2d_slice(rng):
    """A one-slice object's hull holds no voxel centres off its plane, so its 3D convex volume is
    its 2D convex area (scikit-image's 3D hull fails on such objects)."""
    plane = np.where(rng.random((20, 24)) < 0.05, 1, 0).astype(np.uint8)
    plane[3, 4] = 1
    volume = np.zeros((3, 20, 24), np.uint8)
    volume[1] = plane
    line = np.zeros((4, 5, 6), np.uint8)
    line[2, 1, 1:5] = 1  # a row of voxels: convex volume = its 4 voxels
    assert measure(volume)["solidity"][0] == measure(plane)["solidity"][0]
    assert measure(line)["solidity"].tolist() == [1.0]
    assert measure(np.pad(np.ones((1, 1, 1), np.uint8), 1))["solidity"].tolist() == [1.0]
