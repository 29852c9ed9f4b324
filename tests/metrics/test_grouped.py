"""Scores per focal plane (file-name field), as the protoplast paper's tables report them."""
import numpy as np
import pytest

from microseg.errors import ConfigError
from microseg.metrics import evaluate_by_field


def _labels(*boxes):
    labels = np.zeros((20, 20), np.int32)
    for i, (y, x) in enumerate(boxes, start=1):
        labels[y:y + 4, x:x + 4] = i
    return labels


def test_each_plane_is_scored_on_its_own_images_and_all_pools_them():
    gt = _labels((1, 1), (1, 10), (10, 1))
    found_two = _labels((1, 1), (1, 10))                  # z14 misses one of three cells
    pairs = [("day1t1c1xy3z12.tif", gt, gt), ("day1t1c1xy4z12.tif", gt, gt),
             ("day1t1c1xy3z14.tif", gt, found_two)]
    scores = evaluate_by_field(pairs, "z", metrics="f1,iou")
    assert list(scores) == ["12", "14", "all"]
    assert scores["12"].overall["f1"] == 1.0 and scores["12"].overall["n_true"] == 6
    # z14: 2 true positives, 1 false negative → F1 = 2·2 / (2·2 + 0 + 1)
    assert scores["14"].overall["f1"] == pytest.approx(4 / 5)
    assert scores["14"].overall["pixel_iou"] == pytest.approx(32 / 48)
    # all: 8 TP, 1 FN
    assert scores["all"].overall["f1"] == pytest.approx(16 / 17)
    assert [row["image"] for row in scores["12"].images] == ["day1t1c1xy3z12.tif",
                                                             "day1t1c1xy4z12.tif"]


def test_planes_sort_as_numbers_and_a_missing_field_is_named():
    cell = _labels((1, 1))
    names = [f"day1t1c1xy3z{z}.tif" for z in (8, 10, 9)]
    assert list(evaluate_by_field([(n, cell, cell) for n in names], "z", metrics="f1")) == [
        "8", "9", "10", "all"]
    with pytest.raises(ConfigError, match="'well'"):
        evaluate_by_field([(names[0], cell, cell)], "well")
