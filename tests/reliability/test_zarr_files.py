"""A stranger's Zarr folder is read as numbers or refused with our error: object arrays (whose
codecs may unpickle) are never decoded, malformed metadata and chunks give InputError."""
import json
import pickle

import numpy as np
import pytest

from microseg.errors import InputError
from microseg.io.images import read_array



def _zarr_v2_array(folder, meta, chunk=None):
    folder.mkdir(parents=True)
    (folder / ".zarray").write_text(json.dumps({"zarr_format": 2, "order": "C",
                                                "compressor": None, "fill_value": 0,
                                                "filters": None, **meta}))
    if chunk is not None:                      # the first chunk: key "0", "0.0", … by rank
        (folder / ".".join(["0"] * len(meta["shape"]))).write_bytes(chunk)
    return folder


def test_an_object_array_with_a_pickle_codec_is_refused_unread(tmp_path, hostile):
    payload, marker = hostile
    folder = _zarr_v2_array(tmp_path / "evil.zarr",
                            {"shape": [2], "chunks": [2], "dtype": "|O",
                             "filters": [{"id": "pickle"}]},
                            pickle.dumps(np.array([payload, 1], dtype=object)))
    with pytest.raises(InputError):
        read_array(folder)
    assert not marker.exists()


@pytest.mark.parametrize("meta", [
    {"shape": [8, 8], "chunks": [0, 8], "dtype": "<u2"},          # zero-size chunks
    {"shape": [8, 8], "chunks": [8, 8], "dtype": "<u2",
     "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}},
])
def test_malformed_arrays_give_our_error(tmp_path, meta):
    folder = _zarr_v2_array(tmp_path / "bad.zarr", meta, b"\x00\x01 not a valid chunk")
    with pytest.raises(InputError, match="bad.zarr"):
        read_array(folder)


@pytest.mark.parametrize("multiscales", [["x"], [{"datasets": [{"no_path": 1}]}], {"a": 1}])
def test_malformed_ome_metadata_gives_our_error(tmp_path, multiscales):
    folder = tmp_path / "bad.zarr"
    folder.mkdir()
    (folder / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    (folder / ".zattrs").write_text(json.dumps({"multiscales": multiscales}))
    with pytest.raises(InputError, match="bad.zarr"):
        read_array(folder)
