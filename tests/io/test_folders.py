"""Image folders, id lists and image/label pairs matched by stem."""
from __future__ import annotations

import numpy as np
import pytest

from microseg.errors import InputError
from microseg.io import folder_items, write_image, write_labels
from microseg.io.folders import list_images, pair_by_stem, read_id_list, read_pair


def _make(folder, names, shape=(6, 7)):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        write_image(folder / name, np.full(shape, i, np.uint8))


def test_list_images_natural_order_skips_hidden_and_other_files(tmp_path):
    _make(tmp_path, ["s10.tif", "s2.png", "s1.npy", ".s3.part.tif"])
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["s1.npy", "s2.png", "s10.tif"]


def test_list_images_missing_and_empty(tmp_path):
    with pytest.raises(InputError, match="folder not found"):
        list_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("")
    with pytest.raises(InputError, match="empty: no image files"):
        list_images(tmp_path / "empty")


def test_read_id_list(tmp_path):
    (tmp_path / "ids.txt").write_text("# split\nb\n\n  a  \nc\n")
    assert read_id_list(tmp_path / "ids.txt") == ["b", "a", "c"]


@pytest.mark.parametrize("text, reason", [("", "empty"), ("# only\n\n", "empty"),
                                          ("a\nb\na\n", "more than once: a")])
def test_read_id_list_bad(tmp_path, text, reason):
    (tmp_path / "ids.txt").write_text(text)
    with pytest.raises(InputError, match=reason):
        read_id_list(tmp_path / "ids.txt")


def test_read_id_list_missing(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_id_list(tmp_path / "none.txt")


def test_pair_by_stem_with_different_suffixes(tmp_path):
    _make(tmp_path / "images", ["x2.png", "x10.png", "x1.png"])
    _make(tmp_path / "labels", ["x1.tif", "x10.tif", "x2.tif"])
    pairs = pair_by_stem(tmp_path / "images", tmp_path / "labels")
    assert [(i.name, l.name) for i, l in pairs] == [("x1.png", "x1.tif"), ("x2.png", "x2.tif"),
                                                    ("x10.png", "x10.tif")]


def test_pair_by_stem_ids_keep_order_and_filter(tmp_path):
    _make(tmp_path / "images", ["a.png", "b.png", "c.png"])
    _make(tmp_path / "labels", ["a.tif", "b.tif"])  # c unlabelled: fine when not requested
    pairs = pair_by_stem(tmp_path / "images", tmp_path / "labels", ids=["b", "a"])
    assert [i.stem for i, _ in pairs] == ["b", "a"]


def test_pair_by_stem_lists_unmatched(tmp_path):
    _make(tmp_path / "images", ["a.png", "b.png", "c.png"])
    _make(tmp_path / "labels", ["a.tif", "z.tif"])
    with pytest.raises(InputError) as err:
        pair_by_stem(tmp_path / "images", tmp_path / "labels")
    message = str(err.value)
    assert "images without labels" in message and "b, c" in message
    assert "labels without an image" in message and "z" in message


def test_pair_by_stem_missing_ids(tmp_path):
    _make(tmp_path / "images", ["a.png", "b.png"])
    _make(tmp_path / "labels", ["a.tif"])
    with pytest.raises(InputError, match="ids without labels .*: b") as err:
        pair_by_stem(tmp_path / "images", tmp_path / "labels", ids=["a", "b", "q"])
    assert "ids without an image" in str(err.value) and "q" in str(err.value)


def test_pair_by_stem_long_lists_are_shortened(tmp_path):
    _make(tmp_path / "images", [f"i{n}.png" for n in range(14)])
    _make(tmp_path / "labels", ["i0.tif"])
    with pytest.raises(InputError, match="and 3 more"):
        pair_by_stem(tmp_path / "images", tmp_path / "labels")


def test_pair_by_stem_stem_clash(tmp_path):
    _make(tmp_path / "images", ["a.png", "a.tif"])
    _make(tmp_path / "labels", ["a.tif"])
    with pytest.raises(InputError, match="share one stem"):
        pair_by_stem(tmp_path / "images", tmp_path / "labels")


def test_read_pair_rgb_image_and_shape_mismatch(tmp_path):
    write_image(tmp_path / "rgb.png", np.zeros((6, 7, 3), np.uint8))
    write_labels(tmp_path / "ok.tif", np.ones((6, 7), np.uint16))
    write_labels(tmp_path / "bad.tif", np.ones((7, 6), np.uint16))
    image, labels = read_pair(tmp_path / "rgb.png", tmp_path / "ok.tif")
    assert image.shape == (6, 7, 3) and labels.shape == (6, 7)
    with pytest.raises(InputError, match=r"bad.tif: label shape \(7, 6\) does not match"):
        read_pair(tmp_path / "rgb.png", tmp_path / "bad.tif")


def test_read_pair_float_labels(tmp_path):
    write_image(tmp_path / "im.tif", np.zeros((3, 3), np.uint8))
    write_image(tmp_path / "lab.tif", np.full((3, 3), 0.5, np.float32))
    with pytest.raises(InputError, match="lab.tif: labels must be whole numbers"):
        read_pair(tmp_path / "im.tif", tmp_path / "lab.tif")


def test_folder_items_with_id_file(tmp_path):
    _make(tmp_path / "images", ["a.png", "b.png"])
    for i, name in enumerate(["a", "b"]):
        write_labels(tmp_path / "labels" / f"{name}.tif", np.full((6, 7), i + 1, np.uint16))
    (tmp_path / "val.txt").write_text("b\n")
    items = folder_items(tmp_path, ids=tmp_path / "val.txt")
    assert [item.name for item in items] == ["b"]
    image, labels = items[0].load()
    assert image[0, 0] == 1 and labels[0, 0] == 2
    assert items[0].group == "b" and items[0].position is None
    assert items[0].meta == {"path": str(tmp_path / "images" / "b.png"),
                             "labels_path": str(tmp_path / "labels" / "b.tif")}


def test_folder_items_sharing_one_label_image_by_label_stem(tmp_path):
    _make(tmp_path / "images", ["p1_c1.png", "p1_c2.png", "p2_c1.png"])
    for i, name in enumerate(["p1", "p2", "unused"]):
        write_labels(tmp_path / "masks" / f"{name}.tif", np.full((6, 7), i + 1, np.uint16))
    items = folder_items(tmp_path, image_dir="images", label_dir=tmp_path / "masks",
                         label_stem=lambda image: image.stem.split("_")[0])
    assert [(i.name, i.load()[1][0, 0]) for i in items] == [("p1_c1", 1), ("p1_c2", 1),
                                                            ("p2_c1", 2)]
    with pytest.raises(InputError, match="ids without an image: \\['q'\\]"):
        folder_items(tmp_path, ids=["p1_c1", "q"], label_dir="masks",
                     label_stem=lambda image: "p1")
    with pytest.raises(InputError, match="no label file p3.\\* for image p1_c1.png"):
        folder_items(tmp_path, label_dir="masks", label_stem=lambda image: "p3")

