"""Every column of ``measure`` against ``skimage.measure.regionprops_table``."""
import numpy as np
import pytest

from microseg.measure import measure

INTEGER_COLUMNS = ("label", "area", "volume")


def assert_columns_match(ours, expected, columns=None):
    for name in columns or expected:
        if name in INTEGER_COLUMNS or name.startswith("bbox"):
            np.testing.assert_array_equal(ours[name], expected[name], err_msg=name)
            assert ours[name].dtype == np.int64, name
        else:
            np.testing.assert_allclose(ours[name], expected[name], rtol=0, atol=1e-6,
                                       err_msg=name)


def assert_axes_match(ours, expected, eccentricity):
    """Orientations are axes: equal modulo π (−π/2 and π/2 are one axis). Objects whose
    equivalent ellipse is a circle have none; scikit-image's ±π/4 for them follows the sign of
    a rounding error once the coordinates are scaled."""
    defined = eccentricity > 1e-6
    difference = (ours - expected + np.pi / 2) % np.pi - np.pi / 2
    np.testing.assert_allclose(difference[defined], 0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_2d_columns_match_regionprops(make_labels, skimage_table, seed):
    labels = make_labels(seed, (96, 120), 40)
    image = np.random.default_rng(seed).integers(0, 4000, labels.shape).astype(np.uint16)
    ours = measure(labels, image)
    expected = skimage_table(labels, image)
    assert list(ours) == ["label", "area", "centroid_y", "centroid_x", "bbox_min_y", "bbox_min_x",
                          "bbox_max_y", "bbox_max_x", "mean_intensity_c0", "max_intensity_c0",
                          "equivalent_diameter", "perimeter", "orientation", "major_axis_length",
                          "minor_axis_length", "eccentricity", "solidity"]
    assert ours["label"].size == 44 and np.all(np.diff(ours["label"]) > 0)
    assert_columns_match(ours, expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_3d_columns_match_regionprops(make_labels, skimage_table, seed):
    labels = make_labels(seed, (14, 22, 26), 12, distance=3)
    image = np.random.default_rng(seed).normal(size=labels.shape)
    ours = measure(labels, image)
    expected = skimage_table(labels, image)
    assert "volume" in ours and "centroid_z" in ours and "bbox_max_z" in ours
    hull_ok = np.isfinite(expected["solidity"])  # scikit-image's hull fails on flat objects
    assert hull_ok.sum() >= 12
    expected["solidity"] = np.where(hull_ok, expected["solidity"], ours["solidity"])
    assert_columns_match(ours, expected)
    assert np.all((ours["solidity"] > 0) & (ours["solidity"] <= 1))


def test_channels_first_image_gives_a_column_pair_per_channel(make_labels, skimage_table):
    labels = make_labels(3, (40, 50), 10)
    image = np.random.default_rng(3).random((3, 40, 50)).astype(np.float32) * 100 - 50
    ours = measure(labels, image)
    expected = skimage_table(labels, image.astype(np.float64))
    columns = [f"{stat}_intensity_c{k}" for k in range(3) for stat in ("mean", "max")]
    assert [name for name in ours if "intensity" in name] == columns
    assert_columns_match(ours, expected, columns)


@pytest.mark.parametrize("shape,spacing", [((60, 70), (0.5, 1.25)), ((60, 70), (0.65, 0.65)),
                                           ((10, 24, 20), (2.0, 0.4, 0.3))])
def test_spacing_adds_um_columns_matching_regionprops(make_labels, skimage_table, shape,
                                                      spacing):
    labels = make_labels(4, shape, 10, distance=3)
    ours = measure(labels, spacing=spacing)
    plain = measure(labels)
    expected = skimage_table(labels, spacing=spacing)
    ndim = len(shape)
    size = "area" if ndim == 2 else "volume"
    axes = "yx" if ndim == 2 else "zyx"
    pairs = {f"{size}_um{ndim}": size, "equivalent_diameter_um": "equivalent_diameter",
             "eccentricity": "eccentricity", "major_axis_um": "major_axis_length",
             "minor_axis_um": "minor_axis_length",
             **{f"centroid_{a}_um": f"centroid_{a}" for a in axes}}
    if ndim == 2:
        assert_axes_match(ours["orientation"], expected["orientation"], ours["eccentricity"])
        if spacing[0] == spacing[1]:
            pairs["perimeter_um"] = "perimeter"
        else:  # no definition for anisotropic pixels, in scikit-image either
            assert np.isnan(ours["perimeter_um"]).all()
    for ours_name, reference_name in pairs.items():
        np.testing.assert_allclose(ours[ours_name], expected[reference_name], atol=1e-6,
                                   err_msg=ours_name)
    hull_ok = np.isfinite(expected["solidity"])
    np.testing.assert_allclose(ours["solidity"][hull_ok], expected["solidity"][hull_ok],
                               atol=1e-12)
    for name in plain:  # pixel-unit columns are unchanged by spacing (shape angles aside)
        if name not in ("eccentricity", "orientation"):
            np.testing.assert_array_equal(ours[name], plain[name], err_msg=name)


def test_perimeter_and_axes_of_hand_built_shapes():
    labels = np.zeros((9, 12), np.uint8)
    labels[1:4, 1:6] = 1    # 3 × 5 box: border of 12 pixels, 4 corners, straight runs
    labels[5, 1:11] = 2     # 1 × 10 bar lying along X
    labels[6:9, 11] = 3     # 3 × 1 bar standing along Y, touching the image edge
    table = measure(labels)
    # scikit-image's weights by neighbourhood code 1 + 2·(4-neighbours on the border) +
    # 10·(diagonal ones): box corners 5, box sides 15 and 25 → weight 1 each, 12 border pixels;
    # a bar's end pixels 3 → weight 0, its inner pixels 5 → 1
    np.testing.assert_allclose(table["perimeter"], [12, 10 - 2, 3 - 2])
    # variance of n consecutive pixels is (n² − 1) / 12: major axis 4·sqrt of it, minor 0
    np.testing.assert_allclose(table["major_axis_length"][1:], 4 * np.sqrt((np.array([10, 3]) ** 2
                                                                         - 1) / 12))
    np.testing.assert_allclose(table["minor_axis_length"][1:], 0)
    # orientation: angle from the rows axis; a bar along X lies at ±π/2, one along Y at 0
    np.testing.assert_allclose(np.abs(table["orientation"]), [np.pi / 2, np.pi / 2, 0])


def test_hand_computed_objects():
    labels = np.zeros((7, 9), np.uint32)
    labels[1:4, 1:4] = 3  # 3×3 square with a hole: 8 pixels, convex area 9
    labels[2, 2] = 0
    labels[5, 1:8] = 9  # a 1×7 bar
    labels[0, 8] = 70000  # one pixel, id beyond uint16
    table = measure(labels)
    assert table["label"].tolist() == [3, 9, 70000]
    assert table["area"].tolist() == [8, 7, 1]
    np.testing.assert_allclose(table["solidity"], [8 / 9, 1, 1])
    np.testing.assert_allclose(table["centroid_y"], [2, 5, 0])
    np.testing.assert_allclose(table["centroid_x"], [2, 4, 8])
    assert table["bbox_max_x"].tolist() == [4, 8, 9]
    np.testing.assert_allclose(table["eccentricity"], [0, 1, 0])
    np.testing.assert_allclose(table["equivalent_diameter"], np.sqrt(4 * np.array([8, 7, 1])
                                                                     / np.pi))


def test_3d_eccentricity_of_an_axis_aligned_box_from_its_side_lengths():
    labels = np.zeros((5, 9, 13), np.uint8)
    labels[1:4, 1:6, 1:12] = 1  # sides 3, 5, 11: coordinate variances (n² − 1) / 12
    variances = (np.array([3, 5, 11]) ** 2 - 1) / 12
    table = measure(labels)
    np.testing.assert_allclose(table["eccentricity"], np.sqrt(1 - variances[0] / variances[2]))
    assert table["volume"].tolist() == [165] and table["solidity"].tolist() == [1.0]


def test_empty_label_image_gives_zero_rows_with_every_column():
    for labels, image in ((np.zeros((8, 8), np.uint16), np.ones((2, 8, 8))),
                          (np.zeros((3, 4, 5), np.uint8), None)):
        spacing = (1.0,) * labels.ndim
        table = measure(labels, image, spacing=spacing)
        assert all(values.shape == (0,) for values in table.values())
        one = labels.copy()
        one.flat[3] = 1
        filled = measure(one, image, spacing=spacing)
        assert list(table) == list(filled)
        assert all(table[name].dtype == filled[name].dtype for name in table)


def test_views_and_label_dtypes_give_the_same_table(make_labels):
    labels = make_labels(5, (30, 40), 8, largest_id=500)
    image = np.random.default_rng(5).random((40, 30))
    reference = measure(labels, image.T)
    for variant in (labels.astype(np.int64), np.asfortranarray(labels)):
        table = measure(variant, np.ascontiguousarray(image.T))
        for name in reference:
            np.testing.assert_array_equal(table[name], reference[name], err_msg=name)
