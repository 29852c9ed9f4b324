"""``microseg convert``: every source to DST/images + DST/labels, resumable, with clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from microseg.cli import main
from microseg.io import read_array, read_labels, write_ctc_sequence, write_image, write_labels
from microseg.io.coco import labels_to_coco, write_coco
from microseg.io.convert import convert


def _labels(shape=(12, 14), offset=0):
    labels = np.zeros(shape, np.uint16)
    labels[1:5, 2 + offset:6 + offset] = 1
    labels[7:11, 6:12] = 2
    return labels


def _outputs(dst):
    return sorted(p.name for p in (dst / "images").iterdir()), \
        sorted(p.name for p in (dst / "labels").iterdir())


def test_convert_folder_with_ids(tmp_path, capsys):
    for name, offset in (("a", 0), ("b", 3), ("c", 5)):
        image = _labels(offset=offset).astype(np.uint8) * 90
        write_image(tmp_path / "src" / "images" / f"{name}.png", image)
        write_labels(tmp_path / "src" / "labels" / f"{name}.tif", _labels(offset=offset))
    (tmp_path / "val.txt").write_text("c\na\n")
    code = main(["convert", str(tmp_path / "src"), str(tmp_path / "dst"), "--from", "folder",
                 "--ids", str(tmp_path / "val.txt")])
    assert code == 0
    assert "converted 2 item(s)" in capsys.readouterr().out
    assert _outputs(tmp_path / "dst") == (["a.tif", "c.tif"], ["a.tif", "c.tif"])
    np.testing.assert_array_equal(read_labels(tmp_path / "dst" / "labels" / "c.tif"),
                                  _labels(offset=5))
    np.testing.assert_array_equal(read_array(tmp_path / "dst" / "images" / "c.tif"),
                                  _labels(offset=5).astype(np.uint8) * 90)


def test_convert_ctc_resumes_and_overwrites(tmp_path):
    images = [(_labels(offset=t) * 100).astype(np.uint8) for t in range(3)]
    write_ctc_sequence(tmp_path / "DS", 1, images, seg={0: _labels(), 2: _labels(offset=2)})
    assert convert(tmp_path / "DS", tmp_path / "out", "ctc", progress=False) == 2
    assert _outputs(tmp_path / "out")[1] == ["DS_01_t000.tif", "DS_01_t002.tif"]
    np.testing.assert_array_equal(read_array(tmp_path / "out" / "images" / "DS_01_t002.tif"),
                                  images[2])
    (tmp_path / "out" / "labels" / "DS_01_t002.tif").unlink()  # as if interrupted
    assert convert(tmp_path / "DS", tmp_path / "out", "ctc", progress=False) == 1
    assert convert(tmp_path / "DS", tmp_path / "out", "ctc", progress=False) == 0
    assert main(["convert", str(tmp_path / "DS" / "01"), str(tmp_path / "out"), "--from", "ctc",
                 "--overwrite"]) == 0
    assert _outputs(tmp_path / "out")[1] == ["DS_01_t000.tif", "DS_01_t002.tif"]


def test_convert_coco(tmp_path):
    write_image(tmp_path / "img" / "x.png", np.zeros((12, 14), np.uint8))
    write_coco(tmp_path / "ann.json", labels_to_coco({"x.png": _labels()}, mode="polygon"))
    assert main(["convert", str(tmp_path / "ann.json"), str(tmp_path / "out"), "--from", "coco",
                 "--image-root", str(tmp_path / "img")]) == 0
    np.testing.assert_array_equal(read_labels(tmp_path / "out" / "labels" / "x.tif"), _labels())


def test_convert_isbi(tmp_path):
    membrane = np.full((2, 12, 14), 255, np.uint8)
    membrane[:, 6, :] = 0
    write_image(tmp_path / "isbi" / "images.tif", np.zeros((2, 12, 14), np.uint8))
    write_image(tmp_path / "isbi" / "labels.tif", membrane)
    assert main(["convert", str(tmp_path / "isbi"), str(tmp_path / "out"), "--from", "isbi"]) == 0
    labels = read_labels(tmp_path / "out" / "labels" / "images_z001.tif")
    assert set(np.unique(labels[:6])) == {3} and set(np.unique(labels[7:])) == {4}


def test_convert_errors_exit_2_with_message(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "none"), str(tmp_path / "out"), "--from", "ctc"]) == 2
    assert "folder not found" in capsys.readouterr().err
    assert main(["convert", str(tmp_path), str(tmp_path / "out"), "--from", "ctc",
                 "--ids", "x.txt"]) == 2
    assert "bad option for source 'ctc'" in capsys.readouterr().err
    write_image(tmp_path / "f" / "images" / "a.png", np.zeros((3, 3), np.uint8))
    write_labels(tmp_path / "f" / "labels" / "a.tif", np.zeros((3, 4), np.uint16))
    assert main(["convert", str(tmp_path / "f"), str(tmp_path / "out"), "--from", "folder"]) == 2
    assert "does not match the shape" in capsys.readouterr().err
    assert not (tmp_path / "out" / "labels").exists()


def test_unknown_source_in_api(tmp_path):
    from microseg.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown source"):
        convert(tmp_path, tmp_path / "out", "hdf5")
