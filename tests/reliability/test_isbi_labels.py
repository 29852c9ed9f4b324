"""ISBI membrane labels are thresholded from their own values, whatever the dtype, and labels that
are not binary membrane maps (instance labels) are refused naming the file, never turned into
empty labels."""
import numpy as np
import pytest
import tifffile

from microseg.cli import main
from microseg.errors import InputError
from microseg.io.isbi import membrane_to_instances

# a membrane cross (0) splits the slice into four cells, numbered in raster order of their first
# pixel; the membrane labels are 1 (interior) where a cell is
CELLS = np.array([
    [1, 1, 0, 2, 2, 2, 2],
    [1, 1, 0, 2, 2, 2, 2],
    [0, 0, 0, 0, 0, 0, 0],
    [3, 3, 3, 0, 4, 4, 4],
    [3, 3, 3, 0, 4, 4, 4],
    [3, 3, 3, 0, 4, 4, 4],
])
INTERIOR = (CELLS > 0).astype(np.uint8)


@pytest.mark.parametrize("dtype, interior", [(np.uint16, 255), (np.uint16, 1), (np.uint8, 1),
                                             (np.int32, 255), (np.uint32, 7)])
def test_binary_labels_of_any_integer_dtype_give_the_four_cells(dtype, interior):
    labels = membrane_to_instances(INTERIOR.astype(dtype) * interior)
    np.testing.assert_array_equal(labels, CELLS)


def test_a_slice_of_one_value_is_one_cell_or_all_membrane():
    stack = np.stack([np.full_like(INTERIOR, 255), INTERIOR * 255, np.zeros_like(INTERIOR)])
    labels = membrane_to_instances(stack.astype(np.uint16))
    np.testing.assert_array_equal(labels[0], 1)
    np.testing.assert_array_equal(labels[1], np.where(CELLS > 0, CELLS + 1, 0))
    assert not labels[2].any()
    np.testing.assert_array_equal(membrane_to_instances(np.full((3, 4), 255, np.uint16)), 1)
    assert not membrane_to_instances(np.zeros((3, 4), np.uint16)).any()


def test_instance_labels_are_refused_naming_the_file(tmp_path):
    with pytest.raises(InputError) as error:
        membrane_to_instances(CELLS.astype(np.uint16), path=tmp_path / "labels.tif")
    assert str(error.value).startswith(f"{tmp_path / 'labels.tif'}: not a binary membrane map: "
                                       f"5 distinct values (0, 1, 2, 3, 4)")
    many = np.arange(42, dtype=np.uint16).reshape(6, 7)
    with pytest.raises(InputError, match=r"42 distinct values \(0, 1, 2, 3, …, 41\)"):
        membrane_to_instances(many)


def _challenge_layout(root, label_slices):
    """``root/images`` and ``root/labels``: one 2D TIFF per slice."""
    for folder in ("images", "labels"):
        (root / folder).mkdir(parents=True)
    for z, labels in enumerate(label_slices):
        tifffile.imwrite(root / "images" / f"{z:02d}.tif", (INTERIOR * 200).astype(np.uint8))
        tifffile.imwrite(root / "labels" / f"{z:02d}.tif", labels)
    return root


def test_convert_isbi_with_uint16_labels_writes_the_cells(tmp_path, capsys):
    src = _challenge_layout(tmp_path / "isbi", [INTERIOR.astype(np.uint16) * 255] * 2)
    code = main(["convert", str(src), str(tmp_path / "out"), "--from", "isbi"])
    assert code == 0, capsys.readouterr().err
    first = tifffile.imread(tmp_path / "out" / "labels" / "00.tif")
    second = tifffile.imread(tmp_path / "out" / "labels" / "01.tif")
    np.testing.assert_array_equal(first, CELLS)
    np.testing.assert_array_equal(second, np.where(CELLS > 0, CELLS + 4, 0))  # unique in the stack


def test_convert_isbi_with_instance_labels_fails_cleanly_and_writes_nothing(tmp_path, capsys):
    src = _challenge_layout(tmp_path / "isbi", [CELLS.astype(np.uint16)] * 2)
    code = main(["convert", str(src), str(tmp_path / "out"), "--from", "isbi"])
    err = capsys.readouterr().err
    assert code == 2
    errors = [line for line in err.splitlines() if "microseg convert: error:" in line]
    assert len(errors) == 1 and "Traceback" not in err
    assert f"error: {src / 'labels'}: not a binary membrane map: 5 distinct values" in errors[0]
    assert not list((tmp_path / "out").rglob("*.tif"))
