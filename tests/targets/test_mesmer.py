"""Mesmer inner / outer distance and pixel-wise targets against hand-computed values."""
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import disk
from skimage.morphology import ball

from microseg.targets import InnerDistance, OuterDistance, Pixelwise


def disk_labels(shape=(41, 41), centre=(20, 20), radius=10, value=1):
    labels = np.zeros(shape, np.uint16)
    labels[disk(centre, radius, shape=shape)] = value
    return labels


@pytest.mark.parametrize("b", [1.0, 2.5])
def test_inner_distance_of_a_disk(b):
    labels = disk_labels()
    area = np.count_nonzero(labels)
    out = InnerDistance(b=b)(labels)[0]
    assert out[20, 20] == pytest.approx(1.0)
    assert out[20, 27] == pytest.approx(1 / (1 + b * 7 / np.sqrt(area)), rel=1e-6)
    assert out[23, 24] == pytest.approx(1 / (1 + b * 5 / np.sqrt(area)), rel=1e-6)
    assert np.all(out[labels == 0] == 0) and out.max() == out[20, 20]


def test_inner_distance_of_a_ball_uses_the_cube_root_of_the_volume():
    labels = np.pad(ball(4).astype(np.uint8) * 3, 2)
    centre = (6, 6, 6)
    volume = np.count_nonzero(labels)
    out = InnerDistance()(labels)[0]
    assert out[centre] == pytest.approx(1.0)
    assert out[6, 6, 9] == pytest.approx(1 / (1 + 3 / volume ** (1 / 3)), rel=1e-6)


def test_inner_distance_is_per_cell():
    labels = disk_labels((41, 61), (20, 15), 8, 1) + disk_labels((41, 61), (20, 45), 12, 2)
    out = InnerDistance()(labels)[0]
    assert out[20, 15] == pytest.approx(1.0) and out[20, 45] == pytest.approx(1.0)


def test_outer_distance_of_an_isolated_square():
    labels = np.zeros((7, 7), np.uint8)
    labels[1:6, 1:6] = 1
    out = OuterDistance()(labels)[0]
    assert out[3, 3] == pytest.approx(1.0)          # 3 pixels from the background, the most
    assert out[1, 3] == pytest.approx(1 / 3)
    assert out[2, 2] == pytest.approx(2 / 3)
    assert out[0, 0] == 0


def test_outer_distance_matches_a_per_cell_distance_transform(random_cells):
    for labels in (random_cells((40, 50), 20, 5, seed=1), random_cells((8, 20, 24), 10, 4)):
        out = OuterDistance()(labels)[0]
        expected = np.zeros(labels.shape)
        for cell in np.unique(labels[labels > 0]):
            mask = labels == cell
            distance = ndi.distance_transform_edt(mask)
            expected[mask] = distance[mask] / distance[mask].max()
        np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_outer_distance_of_a_cell_filling_the_image():
    np.testing.assert_array_equal(OuterDistance()(np.full((4, 5), 2, np.uint8)), 1)


def test_pixelwise_outline_and_interior(touching_squares):
    out = Pixelwise()(touching_squares)
    interior = np.zeros(out.shape, bool)
    interior[4:8, 4:7] = True
    interior[4:8, 9:12] = True
    np.testing.assert_array_equal(out == 2, interior)
    np.testing.assert_array_equal(out == 1, (touching_squares > 0) & ~interior)


def test_pixelwise_image_border_is_not_an_edge():
    labels = np.zeros((5, 5), np.uint8)
    labels[:, :3] = 1
    out = Pixelwise()(labels)
    np.testing.assert_array_equal(out[:, :3], [[2, 2, 1]] * 5)


def test_pixelwise_dilated_edges_grow_into_background_only():
    labels = np.zeros((9, 9), np.uint8)
    labels[2:7, 2:7] = 1
    out = Pixelwise(dilation_radius=1)(labels)
    assert np.all(out[3:6, 3:6] == 2)
    rows, cols = np.indices(labels.shape)
    outside = np.maximum(np.maximum(2 - rows, rows - 6), np.maximum(2 - cols, cols - 6))
    on_side = (outside == 1) & ((rows >= 2) & (rows <= 6) | (cols >= 2) & (cols <= 6))
    np.testing.assert_array_equal(out == 1, (labels > 0) & (out != 2) | on_side)
