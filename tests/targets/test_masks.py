"""binary, fgbg and the EM boundary map on hand-built label images."""
import numpy as np

from microseg.targets import Binary, Boundary, FgBg


def test_binary_and_fgbg_mark_cells(touching_squares):
    np.testing.assert_array_equal(Binary()(touching_squares)[0], touching_squares > 0)
    np.testing.assert_array_equal(FgBg()(touching_squares), touching_squares > 0)


def test_erosion_width_separates_touching_cells(touching_squares):
    expected = np.zeros(touching_squares.shape, bool)
    expected[4:8, 4:7] = True     # each square loses its one-pixel outline
    expected[4:8, 9:12] = True
    np.testing.assert_array_equal(FgBg(erosion_width=1)(touching_squares), expected)
    np.testing.assert_array_equal(Binary(erosion_width=1)(touching_squares)[0], expected)


def test_erosion_does_not_eat_the_image_border():
    labels = np.zeros((6, 6), np.uint8)
    labels[:, :3] = 1
    expected = np.zeros((6, 6), bool)
    expected[:, :2] = True
    np.testing.assert_array_equal(FgBg(erosion_width=1)(labels), expected)


def test_em_boundary_marks_membrane_and_contacts():
    labels = np.array([[1, 1, 0, 2, 2, 3, 3],
                       [1, 1, 0, 2, 2, 3, 3]], np.uint16)
    expected = np.array([[0, 0, 1, 0, 1, 1, 0],
                         [0, 0, 1, 0, 1, 1, 0]], np.float32)
    np.testing.assert_array_equal(Boundary()(labels)[0], expected)
    thick = np.array([[0, 1, 1, 1, 1, 1, 1],
                      [0, 1, 1, 1, 1, 1, 1]], np.float32)
    np.testing.assert_array_equal(Boundary(dilation=1)(labels)[0], thick)


def test_fluorescence_boundary_is_the_cell_outline():
    labels = np.zeros((7, 7), np.uint8)
    labels[1:6, 1:6] = 4
    expected = np.zeros((7, 7), np.float32)
    expected[1:6, 1:6] = 1
    expected[2:5, 2:5] = 0
    np.testing.assert_array_equal(Boundary(background_is_boundary=False)(labels)[0], expected)


def test_in_plane_boundary_ignores_neighbours_along_z():
    labels = np.ones((2, 3, 3), np.uint8)
    labels[1] = 2
    assert Boundary(in_plane=True)(labels).max() == 0
    assert Boundary()(labels).min() == 1   # every voxel touches the other slice
