"""Any bytes handed to our readers (images, ``res_track.txt``, COCO JSON) give a result or our
own :class:`InputError`, never another exception."""
import io
import json

import numpy as np
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from microseg.errors import InputError
from microseg.io.coco import CocoDataset
from microseg.io.ctc import read_track_file
from microseg.io.images import read_array, read_image, read_labels

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _tiff() -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.arange(2 * 6 * 7, dtype=np.uint16).reshape(2, 6, 7),
                     metadata={"axes": "CYX"}, ome=True)
    return buffer.getvalue()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(6 * 7 * 3, dtype=np.uint8).reshape(6, 7, 3)).save(buffer, "PNG")
    return buffer.getvalue()


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(6 * 7, dtype=np.float32).reshape(6, 7))
    return buffer.getvalue()


@st.composite
def _mutated(draw, valid: bytes) -> bytes:
    """``valid`` with a few bytes replaced, then cut short."""
    data = bytearray(valid)
    for position, value in draw(st.lists(st.tuples(st.integers(0, len(data) - 1),
                                                   st.integers(0, 255)), max_size=6)):
        data[position] = value
    return bytes(data[:draw(st.integers(0, len(data)))])


def _bytes_like(valid: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=600), _mutated(valid))


def _read_all(path):
    """Every image reader on one file: each may only return or raise InputError."""
    for reader in (read_array, read_image, read_labels):
        try:
            reader(path)
        except InputError:
            pass


@FUZZ
@given(data=_bytes_like(_tiff()))
def test_any_bytes_as_a_tiff_give_an_image_or_an_input_error(tmp_path, data):
    (tmp_path / "x.tif").write_bytes(data)
    _read_all(tmp_path / "x.tif")


@FUZZ
@given(data=_bytes_like(_png()))
def test_any_bytes_as_a_png_give_an_image_or_an_input_error(tmp_path, data):
    (tmp_path / "x.png").write_bytes(data)
    _read_all(tmp_path / "x.png")


@FUZZ
@given(data=_bytes_like(_npy()))
def test_any_bytes_as_an_npy_give_an_image_or_an_input_error(tmp_path, data):
    (tmp_path / "x.npy").write_bytes(data)
    _read_all(tmp_path / "x.npy")


_FIELD = st.one_of(st.integers(-3, 12), st.sampled_from([2 ** 31, 2 ** 63 - 1, 2 ** 63, 10 ** 30]),
                   st.integers(0, 2 ** 70)).map(str)
_TRACK_TEXT = st.one_of(
    st.text(alphabet="0123456789 \t\n-+x\u00e9", max_size=80),
    st.lists(st.lists(_FIELD, min_size=3, max_size=5).map(" ".join), max_size=6).map("\n".join),
).map(str.encode)


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), _TRACK_TEXT))
def test_any_bytes_as_a_track_file_give_tracks_or_an_input_error(tmp_path, data):
    path = tmp_path / "res_track.txt"
    path.write_bytes(data)
    try:
        tracks = read_track_file(path)
    except InputError:
        return
    assert tracks.ndim == 2 and tracks.shape[1] == 4


_JUNK = st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=6),
                  st.integers(-2**40, 2**40))
_NUMBER = st.one_of(st.integers(-3, 8), st.floats(-3, 8))
_POINTS = st.lists(st.tuples(_NUMBER, _NUMBER), min_size=3, max_size=5).map(
    lambda points: [v for point in points for v in point])
_POLYGONS = st.lists(_POINTS, min_size=1, max_size=2)
_BAD_POLYGONS = st.lists(st.lists(st.one_of(_NUMBER, _JUNK), max_size=9), max_size=2)
_RLE_STRING = st.text(alphabet=st.characters(min_codepoint=44, max_codepoint=115), max_size=8)
_RLES = st.fixed_dictionaries({
    "size": st.sampled_from([[4, 5], [5, 4], [4], None, "4 5"]),
    "counts": st.one_of(st.lists(st.integers(0, 20), max_size=5), _RLE_STRING,
                        st.lists(st.one_of(st.integers(0, 20), _JUNK), max_size=5))})
#: each kind equally often (a plain one_of would draw mostly from the many kinds of junk)
_SEGMENTATION = st.sampled_from([_POLYGONS, _BAD_POLYGONS, _RLES, _JUNK]).flatmap(lambda s: s)
_IMAGE = st.fixed_dictionaries({"id": st.one_of(st.integers(0, 2), _JUNK),
                                "file_name": st.one_of(st.just("a.png"), _JUNK),
                                "height": st.one_of(st.just(4), _JUNK),
                                "width": st.one_of(st.just(5), _JUNK)})
_COCO = st.fixed_dictionaries({
    "images": st.lists(_IMAGE, max_size=2),
    "annotations": st.lists(st.fixed_dictionaries({"image_id": st.one_of(st.integers(0, 2),
                                                                         _JUNK),
                                                   "segmentation": _JUNK}), max_size=2)})


def _coco_labels(path, data: bytes) -> None:
    """Write ``data`` as a COCO file and paint every image: may only return or raise
    InputError."""
    path.write_bytes(data)
    try:
        dataset = CocoDataset(path)
        for image_id in dataset.image_ids:
            dataset.labels(image_id)
    except InputError:
        pass


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), _COCO.map(lambda coco: json.dumps(coco).encode())))
def test_any_bytes_as_a_coco_file_give_a_dataset_or_an_input_error(tmp_path, data):
    _coco_labels(tmp_path / "coco.json", data)


@FUZZ
@given(segmentations=st.lists(_SEGMENTATION, min_size=1, max_size=3))
def test_any_coco_segmentation_gives_labels_or_an_input_error(tmp_path, segmentations):
    coco = {"images": [{"id": 1, "file_name": "a.png", "height": 4, "width": 5}],
            "annotations": [{"image_id": 1, "segmentation": s} for s in segmentations]}
    _coco_labels(tmp_path / "coco.json", json.dumps(coco).encode())
