"""OME-Zarr reading (NGFF 0.4 / Zarr v2 and NGFF 0.5 / Zarr v3) and plain Zarr arrays."""
from __future__ import annotations

import numpy as np
import pytest
import zarr

from microseg.errors import InputError
from microseg.io import read_array
from microseg.io.omezarr import ome_axes, open_ome_zarr, read_ome_zarr

AXES = [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"},
        {"name": "x", "type": "space"}]


def _write_ome(path, levels, zarr_format):
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    for n, level in enumerate(levels):
        group.create_array(str(n), data=level, chunks=(1, 8, 8))
    multiscales = [{"version": "0.4", "axes": AXES,
                    "datasets": [{"path": str(n), "coordinateTransformations": [
                        {"type": "scale", "scale": [1.0, 2.0 ** n, 2.0 ** n]}]}
                        for n in range(len(levels))]}]
    if zarr_format == 2:
        group.attrs["multiscales"] = multiscales
    else:
        multiscales[0].pop("version")
        group.attrs["ome"] = {"version": "0.5", "multiscales": multiscales}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_levels_and_axes(tmp_path, zarr_format):
    full = np.arange(2 * 16 * 20, dtype=np.uint16).reshape(2, 16, 20)
    half = full[:, ::2, ::2].copy()
    _write_ome(tmp_path / "img.zarr", [full, half], zarr_format)
    np.testing.assert_array_equal(read_array(tmp_path / "img.zarr"), full)
    np.testing.assert_array_equal(read_ome_zarr(tmp_path / "img.zarr", level=1), half)
    assert open_ome_zarr(tmp_path / "img.zarr").shape == full.shape  # lazy handle
    assert ome_axes(tmp_path / "img.zarr") == ["c", "y", "x"]
    with pytest.raises(InputError, match="level 2 not available"):
        read_ome_zarr(tmp_path / "img.zarr", level=2)


def test_plain_zarr_array(tmp_path):
    data = np.eye(5, dtype=np.uint8)
    zarr.save_array(str(tmp_path / "a.zarr"), data)
    np.testing.assert_array_equal(read_array(tmp_path / "a.zarr"), data)


def test_group_without_ome_metadata_and_missing_folder(tmp_path):
    zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    with pytest.raises(InputError, match="without OME 'multiscales'"):
        read_array(tmp_path / "g.zarr")
    with pytest.raises(InputError, match="Zarr folder not found"):
        read_ome_zarr(tmp_path / "none.zarr")
    (tmp_path / "junk.zarr").mkdir()
    with pytest.raises(InputError, match="junk.zarr"):
        read_ome_zarr(tmp_path / "junk.zarr")
