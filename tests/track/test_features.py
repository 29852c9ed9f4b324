"""Per-object tracking features on hand-built objects, with scikit-image as the reference for
solidity."""
import numpy as np
import pytest
from skimage.measure import regionprops

from microseg.errors import InputError
from microseg.track.features import object_features


def test_intensity_weighted_centroid_by_hand():
    labels = np.zeros((4, 6), np.uint16)
    labels[1, 1:3] = 7           # pixels (1, 1) and (1, 2), intensities 1 and 3
    labels[2:4, 4] = 9           # pixels (2, 4) and (3, 4), intensities 0 and 5
    image = np.zeros((4, 6))
    image[1, 1], image[1, 2], image[3, 4] = 1, 3, 5
    f = object_features(labels, image)
    assert f.ids.tolist() == [7, 9]
    assert f.centroid.tolist() == [[1.0, 1.75], [3.0, 4.0]]
    assert f.mean_intensity.tolist() == [2.0, 2.5] and f.max_intensity.tolist() == [3.0, 5.0]
    assert f.has_intensity


def test_without_weight_or_image_the_centroid_is_geometric():
    labels = np.zeros((5, 5), np.uint8)
    labels[1:4, 0:2] = 1
    dark = object_features(labels, np.zeros((5, 5)))
    plain = object_features(labels)
    assert dark.centroid.tolist() == plain.centroid.tolist() == [[2.0, 0.5]]
    assert not plain.has_intensity and plain.mean_intensity.tolist() == [0.0]


def test_rectangle_size_radius_aspect_solidity():
    labels = np.zeros((7, 13), np.uint8)
    labels[2:5, 2:11] = 1  # 3 × 9: coordinate variances (3² − 1) / 12 and (9² − 1) / 12
    f = object_features(labels)
    assert f.size.tolist() == [27]
    assert f.radius[0] == pytest.approx(np.sqrt(27 / np.pi))
    assert f.aspect[0] == pytest.approx(np.sqrt((80 / 12) / (8 / 12)))
    assert f.solidity[0] == pytest.approx(1.0)


def test_spacing_gives_physical_centroid_radius_and_shape():
    labels = np.zeros((7, 13), np.uint8)
    labels[2:5, 2:11] = 1
    f = object_features(labels, spacing=(3.0, 1.0))  # 9 × 9 µm: y variance 9 · 8 / 12
    assert f.centroid.tolist() == [[9.0, 6.0]]
    assert f.radius[0] == pytest.approx(np.sqrt(27 * 3 / np.pi))
    assert f.aspect[0] == pytest.approx(np.sqrt((80 / 12) / (9 * 8 / 12)))


def test_solidity_matches_scikit_image():
    labels = np.zeros((20, 20), np.uint8)
    labels[2:15, 2:6] = 1
    labels[11:15, 6:16] = 1  # an L
    labels[3:8, 9:17] = 2
    f = object_features(labels)
    assert f.solidity.tolist() == pytest.approx([r.solidity for r in regionprops(labels)])
    assert f.solidity[0] < 0.8


def test_ball_radius_in_3d():
    z, y, x = np.mgrid[:15, :15, :15]
    labels = ((z - 7) ** 2 + (y - 7) ** 2 + (x - 7) ** 2 <= 25).astype(np.uint8)
    f = object_features(labels, labels.astype(float))
    assert f.centroid[0] == pytest.approx([7, 7, 7])
    assert f.radius[0] == pytest.approx((3 * labels.sum() / (4 * np.pi)) ** (1 / 3))
    assert f.aspect[0] == pytest.approx(1.0)


def test_empty_frame_and_bad_input():
    f = object_features(np.zeros((8, 8), np.uint8), np.ones((8, 8)))
    assert len(f) == 0 and f.centroid.shape == (0, 2)
    with pytest.raises(InputError, match="does not match"):
        object_features(np.zeros((8, 8), np.uint8), np.ones((8, 9)), source="frame 3")
    with pytest.raises(InputError):
        object_features(np.full((4, 4), -1))
