"""XB-Net 3-class target against hand-built cases and a literal, per-cell transcription of
Algorithm 1 (004_a42a17ce25b44d71.txt)."""
import itertools

import numpy as np
import pytest
from scipy import ndimage as ndi

from microseg.targets import ThreeClass, build


def algorithm_1(labels, dilation, erosion):
    """Algorithm 1 as written: a loop over cells, then over the candidate rim pixels, looking for
    another cell within the ``(2·erosion + 1)``-wide window (clipped at the image border), as
    the authors' preprocessing script does."""
    out = np.zeros(labels.shape, np.int64)
    background = labels == 0
    for cell in np.unique(labels[labels > 0]):
        mask = labels == cell
        if dilation:  # scipy reads iterations=0 as "until nothing changes"
            out[ndi.binary_dilation(mask, iterations=dilation) & background] = 1
        out[mask] = 2
        rim = mask & ~ndi.binary_erosion(mask, iterations=erosion)
        for pixel in zip(*np.nonzero(rim)):
            window = tuple(slice(max(p - erosion, 0), p + erosion + 1) for p in pixel)
            near = labels[window]
            if np.any((near > 0) & (near != cell)):
                out[pixel] = 1
    return out


def city_block_to_rectangle(shape, rows, cols):
    """City-block distance of every pixel to the rectangle rows[0]..rows[1] × cols[0]..cols[1]."""
    r, c = np.indices(shape)
    return (np.maximum(0, np.maximum(rows[0] - r, r - rows[1]))
            + np.maximum(0, np.maximum(cols[0] - c, c - cols[1])))


def test_two_touching_squares_by_hand(touching_squares):
    out = ThreeClass(dilation=2, erosion=2)(touching_squares)
    expected = np.where(city_block_to_rectangle(out.shape, (3, 8), (3, 12)) <= 2, 1, 0)
    expected[3:9, 3:6] = 2       # cell 1 keeps columns 3–5
    expected[3:9, 10:13] = 2     # cell 2 keeps columns 10–12
    # columns 6, 7 (cell 1) and 8, 9 (cell 2) lie within 2 pixels of the other cell: boundary
    np.testing.assert_array_equal(out, expected)


def test_cells_far_apart_keep_every_pixel():
    labels = np.zeros((20, 30), np.uint16)
    labels[5:10, 4:9] = 1
    labels[5:10, 20:25] = 2
    out = ThreeClass()(labels)
    np.testing.assert_array_equal(out == 2, labels > 0)


@pytest.mark.parametrize("dilation, erosion", [(2, 2), (1, 1), (3, 2), (0, 3), (2, 0)])
def test_matches_algorithm_1_in_2d(random_cells, dilation, erosion):
    labels = random_cells((40, 44), 25, 4, seed=dilation * 10 + erosion)
    np.testing.assert_array_equal(ThreeClass(dilation=dilation, erosion=erosion)(labels),
                                  algorithm_1(labels, dilation, erosion))


def test_matches_algorithm_1_in_3d(random_cells):
    labels = random_cells((10, 18, 16), 14, 3, seed=3)
    np.testing.assert_array_equal(ThreeClass(dilation=2, erosion=2)(labels),
                                  algorithm_1(labels, 2, 2))


def test_3d_default_dilation_is_five():
    labels = np.zeros((13, 13, 13), np.uint8)
    labels[6, 6, 6] = 1
    out = build("three_class")(labels)
    distance = sum(np.abs(axis - 6) for axis in np.indices(labels.shape))
    np.testing.assert_array_equal(out, np.select([distance == 0, distance <= 5], [2, 1], 0))
    assert ThreeClass()(labels[6]).max() == 2
    assert np.count_nonzero(ThreeClass()(labels[6]) == 1) == 12  # 2D default: diamond of radius 2


def test_in_plane_works_slice_by_slice(random_cells):
    labels = random_cells((5, 30, 30), 20, 4, seed=4)
    stacked = np.stack([ThreeClass(dilation=3)(plane) for plane in labels])
    np.testing.assert_array_equal(ThreeClass(dilation=3, in_plane=True)(labels), stacked)


def test_label_ids_and_order_do_not_matter(random_cells):
    labels = random_cells((30, 30), 15, 4, seed=5)
    permutation = np.r_[0, np.random.default_rng(0).permutation(np.arange(1, 16)) * 1000]
    for a, b in itertools.combinations([labels, permutation[labels].astype(np.uint32)], 2):
        np.testing.assert_array_equal(ThreeClass()(a), ThreeClass()(b))
