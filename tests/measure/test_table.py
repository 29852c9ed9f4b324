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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_2d_columns_match_regionprops(make_labels, skimage_table, seed):
    labels = make_labels(seed, (96, 120), 40)
    image = np.random.default_rng(seed).integers(0, 4000, labels.shape).astype(np.uint16)
    ours = measure(labels, image)
    expected = skimage_table(labels, image)
    assert list(ours) == ["label", "area", "centroid_y", "centroid_x", "bbox_min_y", "bbox_min_x",
                          "bbox_max_y", "bbox_max_x", "mean_intensity_c0", "max_intensity_c0",
                          "equivalent_diameter", "eccentricity", "solidity"]
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


@pytest.mark.parametrize("shape,spacing", [((60, 70), (0.5, 1.25)),
                                           ((10, 24, 20), (2.0, 0.4, 0.3))])
def test_spacing_adds_physical_columns_matching_regionprops(make_labels, skimage_table, shape,
                                                            spacing):
    labels = make_labels(4, shape, 10, distance=3)
    ours = measure(labels, spacing=spacing)
    plain = measure(labels)
    expected = skimage_table(labels, spacing=spacing)
    size = "area" if len(shape) == 2 else "volume"
    axes = "yx" if len(shape) == 2 else "zyx"
    pairs = {f"{size}_physical": size, "equivalent_diameter_physical": "equivalent_diameter",
             "eccentricity": "eccentricity",
             **{f"centroid_{a}_physical": f"centroid_{a}" for a in axes}}
    for ours_name, reference_name in pairs.items():
        np.testing.assert_allclose(ours[ours_name], expected[reference_name], atol=1e-6,
                                   err_msg=ours_name)
    hull_ok = np.isfinite(expected["solidity"])
    np.testing.assert_allclose(ours["solidity"][hull_ok], expected["solidity"][hull_ok],
                               atol=1e-12)
    for name in plain:  # pixel-unit columns are unchanged by spacing (eccentricity aside)
        if name != "eccentricity":
            np.testing.assert_array_equal(ours[name], plain[name], err_msg=name)


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
