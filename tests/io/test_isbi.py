"""ISBI 2012 EM stacks: reading stacks and membrane labels → instances."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

from microseg.errors import InputError
from microseg.io import write_image
from microseg.io.isbi import isbi_items, membrane_to_instances, read_em_stack

# Hand-built 7×9 membrane image (255 interior, 0 membrane): a vertical membrane at column 4, a
# horizontal one on the left half at row 3, and a one-pixel diagonal membrane on the right that
# meets the image border, so the right half splits into two cells only under 4-connectivity.
MEMBRANE = np.array([
    [255, 255, 255, 255, 0, 255, 255, 255, 0],
    [255, 255, 255, 255, 0, 255, 255, 0, 255],
    [255, 255, 255, 255, 0, 255, 0, 255, 255],
    [0, 0, 0, 0, 0, 0, 255, 255, 255],
    [255, 255, 255, 255, 0, 255, 255, 255, 255],
    [255, 255, 255, 255, 0, 255, 255, 255, 255],
    [255, 255, 255, 255, 0, 255, 255, 255, 255],
], np.uint8)
# the cells, numbered in raster order of their first pixel (as connected-component labelling does)
EXPECTED = np.array([
    [1, 1, 1, 1, 0, 2, 2, 2, 0],
    [1, 1, 1, 1, 0, 2, 2, 0, 3],
    [1, 1, 1, 1, 0, 2, 0, 3, 3],
    [0, 0, 0, 0, 0, 0, 3, 3, 3],
    [4, 4, 4, 4, 0, 3, 3, 3, 3],
    [4, 4, 4, 4, 0, 3, 3, 3, 3],
    [4, 4, 4, 4, 0, 3, 3, 3, 3],
], np.uint16)


def test_membrane_to_instances_2d():
    labels = membrane_to_instances(MEMBRANE)
    assert labels.dtype == np.uint16
    np.testing.assert_array_equal(labels, EXPECTED)


def test_membrane_to_instances_3d_is_per_slice_with_unique_ids():
    stack = np.stack([MEMBRANE, MEMBRANE, np.full_like(MEMBRANE, 255)])
    labels = membrane_to_instances(stack)
    np.testing.assert_array_equal(labels[0], EXPECTED)
    np.testing.assert_array_equal(labels[1], np.where(EXPECTED > 0, EXPECTED + 4, 0))
    np.testing.assert_array_equal(labels[2], 9)  # not joined to the cells above it


@pytest.mark.parametrize("image, kwargs", [
    (MEMBRANE > 0, {}),
    (MEMBRANE / 255.0, {}),
    (MEMBRANE.astype(np.uint16) * 257, {}),
    (1.0 - MEMBRANE / 255.0, {"invert": True}),  # membrane probability: high = membrane
    (MEMBRANE.astype(np.float32) * 4, {"threshold": 500.0}),
])
def test_membrane_inputs_and_thresholds(image, kwargs):
    np.testing.assert_array_equal(membrane_to_instances(image, **kwargs), EXPECTED)


def test_float_outside_unit_range_needs_threshold():
    with pytest.raises(InputError, match="give a threshold"):
        membrane_to_instances(MEMBRANE.astype(np.float32))
    with pytest.raises(InputError, match=r"\(Y, X\) or \(Z, Y, X\)"):
        membrane_to_instances(np.zeros(5))


def test_read_stack_from_multipage_tiff_and_single_image(tmp_path):
    stack = np.stack([MEMBRANE, MEMBRANE[::-1], MEMBRANE[:, ::-1]])
    with tifffile.TiffWriter(tmp_path / "stack.tif") as tif:
        for page in stack:
            tif.write(page, compression="lzw")
    np.testing.assert_array_equal(read_em_stack(tmp_path / "stack.tif"), stack)
    write_image(tmp_path / "one.png", MEMBRANE)
    assert read_em_stack(tmp_path / "one.png").shape == (1, 7, 9)


def test_read_stack_from_folder_in_natural_order(tmp_path):
    for z in (10, 2, 1):
        write_image(tmp_path / f"slice_{z}.png", np.full((4, 5), z, np.uint8))
    np.testing.assert_array_equal(read_em_stack(tmp_path)[:, 0, 0], [1, 2, 10])


def test_bad_stacks(tmp_path):
    write_image(tmp_path / "s" / "a.png", np.zeros((4, 5), np.uint8))
    write_image(tmp_path / "s" / "b.png", np.zeros((5, 5), np.uint8))
    with pytest.raises(InputError, match="b.png: slice shape"):
        read_em_stack(tmp_path / "s")
    write_image(tmp_path / "c" / "a.png", np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(InputError, match="grey 2D"):
        read_em_stack(tmp_path / "c")
    write_image(tmp_path / "v.tif", np.zeros((2, 2, 4, 5), np.uint8))
    with pytest.raises(InputError, match=r"must be \(Z, Y, X\)"):
        read_em_stack(tmp_path / "v.tif")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files"):
        read_em_stack(tmp_path / "empty")
    with pytest.raises(InputError, match="file not found"):
        read_em_stack(tmp_path / "none.tif")


def test_items_from_challenge_layout(tmp_path):
    for z in range(2):
        write_image(tmp_path / "images" / f"{z:02d}.png", np.full((7, 9), z, np.uint8))
        write_image(tmp_path / "labels" / f"{z:02d}.png", MEMBRANE)
    items = isbi_items(tmp_path)
    assert [i.name for i in items] == ["00", "01"]
    image, labels = items[1].load()
    assert image[0, 0] == 1
    np.testing.assert_array_equal(labels, np.where(EXPECTED > 0, EXPECTED + 4, 0))


def test_items_from_stack_files(tmp_path):
    write_image(tmp_path / "volume.tif", np.zeros((3, 7, 9), np.uint8))
    write_image(tmp_path / "membranes.tif", np.stack([MEMBRANE] * 3))
    items = isbi_items(tmp_path / "volume.tif", labels=tmp_path / "membranes.tif")
    assert [i.name for i in items] == ["volume_z000", "volume_z001", "volume_z002"]
    np.testing.assert_array_equal(items[0].load()[1], EXPECTED)


def test_items_are_positioned_by_slice_and_share_the_stack_range(tmp_path):
    volume = np.stack([np.full((7, 9), 10 * (z + 1), np.uint8) for z in range(3)])
    volume[2, 0, 0] = 3
    write_image(tmp_path / "volume.tif", volume)
    write_image(tmp_path / "membranes.tif", np.stack([MEMBRANE] * 3))
    items = isbi_items(tmp_path / "volume.tif", labels=tmp_path / "membranes.tif")
    assert [(i.position, i.group) for i in items] == [(0, "volume_z000"), (1, "volume_z001"),
                                                      (2, "volume_z002")]
    assert [i.intensity_range() for i in items] == [(3.0, 30.0)] * 3


def test_items_with_mismatched_stacks(tmp_path):
    write_image(tmp_path / "volume.tif", np.zeros((2, 7, 9), np.uint8))
    write_image(tmp_path / "short.tif", np.stack([MEMBRANE]))
    write_image(tmp_path / "wide.tif", np.zeros((2, 7, 10), np.uint8))
    with pytest.raises(InputError, match="1 label slices for 2 image slices"):
        isbi_items(tmp_path / "volume.tif", labels=tmp_path / "short.tif")
    items = isbi_items(tmp_path / "volume.tif", labels=tmp_path / "wide.tif")
    with pytest.raises(InputError, match="does not match image stack shape"):
        items[0].load()
    with pytest.raises(InputError, match="expected a folder 'images/'"):
        isbi_items(tmp_path)
