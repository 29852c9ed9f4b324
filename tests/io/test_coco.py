"""COCO (LIVECell) annotations ↔ label images, checked against pycocotools' own decoding."""
from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from skimage.draw import ellipse

from microseg.errors import InputError
from microseg.io import write_image
from microseg.io.coco import CocoDataset, annotations_to_labels, coco_items, labels_to_coco, \
    read_coco, write_coco

# pycocotools' decode warns about numpy 2's copy keyword when called directly in the checks below
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools.*")


def _blobs(shape=(40, 50), n=9, seed=0):
    """Non-overlapping ellipses and rectangles with ids 1..n."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint16)
    for k in range(1, n + 1):
        rr, cc = ellipse(rng.integers(4, shape[0] - 4), rng.integers(4, shape[1] - 4),
                         rng.integers(2, 6), rng.integers(2, 6), shape=shape,
                         rotation=rng.random() * np.pi)
        free = labels[rr, cc] == 0
        labels[rr[free], cc[free]] = k
    labels[0:3, 0:4] = n + 1  # touches the image corner
    return labels


@pytest.mark.parametrize("mode", ["rle", "polygon"])
def test_round_trip_matches_pycocotools_decode(tmp_path, mode):
    labels = {"a.png": _blobs(seed=1), "b.png": _blobs((30, 20), 4, seed=2)}
    path = write_coco(tmp_path / "ann.json", labels_to_coco(labels, mode=mode))
    reference = COCO(str(path))
    for image_id, (name, expected) in zip(reference.getImgIds(), labels.items()):
        ann_ids = reference.getAnnIds(imgIds=image_id)
        assert len(ann_ids) == len(np.unique(expected)) - 1
        for k, ann in enumerate(reference.loadAnns(ann_ids), start=1):
            # each annotation decoded by pycocotools is exactly object k of the label image
            np.testing.assert_array_equal(reference.annToMask(ann).astype(bool), expected == k)
            assert ann["area"] == (expected == k).sum()
        ours = CocoDataset(path)
        assert ours.file_name(image_id) == name
        np.testing.assert_array_equal(ours.labels(image_id), expected)


def test_bbox_is_xywh():
    labels = np.zeros((10, 12), np.uint8)
    labels[2:5, 3:9] = 1
    ann = labels_to_coco({"x": labels})["annotations"][0]
    assert ann["bbox"] == [3.0, 2.0, 6.0, 3.0]
    assert ann["segmentation"]["size"] == [10, 12]
    assert isinstance(ann["segmentation"]["counts"], str)


def test_non_consecutive_ids_become_positions():
    labels = np.zeros((6, 6), np.uint16)
    labels[0:2, 0:2] = 5
    labels[3:6, 3:6] = 900
    coco = labels_to_coco({"x": labels})
    back = annotations_to_labels(coco["annotations"], 6, 6)
    np.testing.assert_array_equal(back, np.where(labels == 5, 1, np.where(labels == 900, 2, 0)))


def test_polygon_mode_fills_holes():
    ring = np.zeros((15, 15), np.uint8)
    ring[3:12, 3:12] = 1
    ring[6:9, 6:9] = 0
    coco = labels_to_coco({"ring": ring}, mode="polygon")
    back = annotations_to_labels(coco["annotations"], 15, 15)
    expected = np.zeros_like(ring)
    expected[3:12, 3:12] = 1
    np.testing.assert_array_equal(back, expected)


def _square(y0, x0, size):
    x1, y1 = x0 + size, y0 + size
    return {"segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]]}


def test_overlap_smaller_annotation_wins_in_either_order():
    big, small = _square(0, 0, 8), _square(2, 2, 3)
    for annotations, big_id, small_id in (([big, small], 1, 2), ([small, big], 2, 1)):
        labels = annotations_to_labels(annotations, 10, 10)
        small_mask, big_mask = (mask_utils.decode(mask_utils.frPyObjects(a["segmentation"], 10, 10))
                                [..., 0] for a in (small, big))
        np.testing.assert_array_equal(labels[small_mask > 0], small_id)
        np.testing.assert_array_equal(labels[(big_mask > 0) & (small_mask == 0)], big_id)


def test_overlap_equal_area_later_wins():
    labels = annotations_to_labels([_square(0, 0, 4), _square(2, 2, 4)], 8, 8)
    assert labels[3, 3] == 2 and labels[0, 0] == 1 and labels[5, 5] == 2


def test_uncompressed_and_compressed_rle():
    mask = np.zeros((4, 5), np.uint8)
    mask[1:3, 1] = 1
    mask[0:4, 3] = 1
    # column-major runs written by hand: 5 zeros, 2 ones, 5 zeros, 4 ones, 4 zeros
    uncompressed = {"size": [4, 5], "counts": [5, 2, 5, 4, 4]}
    compressed = mask_utils.encode(np.asfortranarray(mask))
    compressed["counts"] = compressed["counts"].decode("ascii")
    labels = annotations_to_labels([{"segmentation": uncompressed}, {"segmentation": compressed,
                                                                    "iscrowd": 0}], 4, 5)
    np.testing.assert_array_equal(labels > 0, mask > 0)
    np.testing.assert_array_equal(mask_utils.decode(mask_utils.frPyObjects(uncompressed, 4, 5)),
                                  mask)


def test_empty_annotation_list_gives_background():
    labels = annotations_to_labels([], 3, 4)
    assert labels.shape == (3, 4) and labels.dtype == np.uint16 and not labels.any()


@pytest.mark.parametrize("segmentation, reason", [
    ([[1, 1, 3, 3]], "≥ 3 x, y pairs"),
    ([], "≥ 3 x, y pairs"),
    ({"size": [9, 9], "counts": [81]}, "RLE size"),
    ({"size": [4, 5], "counts": [5, 2]}, "sum to height"),
    ({"size": [4, 5]}, "polygons or an RLE"),
    ("nonsense", "polygons or an RLE"),
])
def test_bad_segmentations(segmentation, reason):
    with pytest.raises(InputError, match=reason):
        annotations_to_labels([{"id": 7, "segmentation": segmentation}], 4, 5, source="ann.json")


def test_dataset_reads_images_from_nested_root(tmp_path):
    labels = _blobs((20, 24), 3)
    image = (labels * 40).astype(np.uint8)
    write_image(tmp_path / "imgs" / "A172" / "cell_1.png", image)
    path = write_coco(tmp_path / "ann" / "train.json", labels_to_coco({"cell_1.png": labels}))
    dataset = CocoDataset(path, image_root=tmp_path / "imgs")
    assert dataset.image_ids == [1] and len(dataset) == 1 and dataset.size(1) == (20, 24)
    np.testing.assert_array_equal(dataset.image(1), image)
    assert len(dataset.annotations(1)) == 4
    items = coco_items(path, image_root=tmp_path / "imgs")
    assert [i.name for i in items] == ["cell_1"]
    assert items[0].meta == {"path": str(path), "image_id": 1, "file_name": "cell_1.png"}
    loaded_image, loaded_labels = items[0].load()
    np.testing.assert_array_equal(loaded_labels, labels)
    with pytest.raises(InputError, match="no image with id 2"):
        dataset.labels(2)


def test_dataset_image_size_mismatch_and_missing_image(tmp_path):
    write_image(tmp_path / "a.png", np.zeros((5, 5), np.uint8))
    coco = labels_to_coco({"a.png": np.zeros((6, 5), np.uint8), "b.png": np.zeros((2, 2))})
    path = write_coco(tmp_path / "c.json", coco)
    dataset = CocoDataset(path)
    with pytest.raises(InputError, match="does not match the size"):
        dataset.image(1)
    with pytest.raises(InputError, match="b.png: image of COCO id 2 not found"):
        dataset.image(2)


@pytest.mark.parametrize("content, reason", [
    ("{not json", "cannot read COCO JSON"),
    ("[]", "needs an 'images' list"),
    ('{"images": [{"id": 1}]}', r"images\[0\] lacks"),
    ('{"images": [{"id": 1, "file_name": "a", "height": 2, "width": 2}], '
     '"annotations": [{"image_id": 2, "segmentation": []}]}', "unknown image id 2"),
    ('{"images": [{"id": 1, "file_name": "a", "height": 2, "width": 2}], '
     '"annotations": [{"image_id": 1}]}', "needs 'image_id' and 'segmentation'"),
])
def test_bad_coco_files(tmp_path, content, reason):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(InputError, match=reason):
        read_coco(tmp_path / "bad.json")


def test_missing_coco_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        CocoDataset(tmp_path / "none.json")


def test_labels_to_coco_rejects_3d_and_bad_mode():
    with pytest.raises(InputError, match="2D"):
        labels_to_coco({"v": np.zeros((2, 3, 3), np.uint8)})
    with pytest.raises(InputError, match="mode"):
        labels_to_coco({"v": np.zeros((3, 3), np.uint8)}, mode="mesh")


def test_written_json_is_plain_json(tmp_path):
    path = write_coco(tmp_path / "x.json", labels_to_coco({"a": _blobs()}))
    data = json.loads(path.read_text())
    assert data["categories"] == [{"id": 1, "name": "cell"}]
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
