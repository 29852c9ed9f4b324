import numpy as np
import pytest

from microseg.errors import InputError
from microseg.metrics import combine_error_types, error_types
from microseg.metrics.errors import ErrorTypes


def _scene():
    """One scene with every error type, ids chosen arbitrarily; expected counts by construction."""
    gt = np.zeros((40, 60), np.uint16)
    pred = np.zeros_like(gt)
    gt[1:9, 1:9] = 1;        pred[1:9, 1:9] = 11            # correct (IoU 1)
    gt[1:9, 12:20] = 2;      pred[1:9, 12:19] = 12          # correct (IoU 56/64)
    gt[1:9, 24:32] = 3;      pred[1:9, 24:28] = 13          # split: 3 → 13 + 14
    pred[1:9, 28:32] = 14
    gt[12:20, 1:5] = 4;      gt[12:20, 5:9] = 5             # merge: 4 + 5 → 15
    pred[12:20, 1:9] = 15
    gt[12:20, 12:16] = 6;    gt[12:20, 16:20] = 7           # catastrophe: 6, 7 ↔ 16, 17
    pred[12:16, 12:20] = 16; pred[16:20, 12:20] = 17
    gt[12:20, 24:32] = 8                                    # missed
    pred[24:30, 1:7] = 18                                   # spurious
    gt[24:32, 24:32] = 9;    pred[24:32, 28:36] = 19        # IoU 32/96: one missed + one spurious
    gt[34:40, 40:46] = 10;   pred[35:37, 41:43] = 20        # tiny prediction inside GT 10: IoU
    return gt, pred                                         # 4/36 ≥ 0.1 → a missed + spurious


def test_every_error_type_in_one_scene():
    gt, pred = _scene()
    e = error_types(gt, pred)
    assert e == ErrorTypes(n_true=10, n_pred=10, correct=2, missed=3, spurious=3, merged=1,
                           split=1, catastrophe=1, merged_true=2, split_pred=2,
                           catastrophe_true=2, catastrophe_pred=2)


def test_small_object_swallowed_by_large_one_is_a_merge_not_a_miss():
    gt = np.zeros((20, 20), np.uint8)
    gt[2:18, 2:18] = 1          # 256 px
    gt[8:10, 8:10] = 2          # 4 px inside
    pred = (gt > 0).astype(np.uint8) * 3
    # IoU(2, 3) = 4/256 < 0.1, but GT 2 lies entirely inside prediction 3 → still linked
    e = error_types(gt, pred)
    assert (e.correct, e.merged, e.missed) == (1, 0, 1)
    # with the prediction cut to its left half, IoU(1, 3) = 124/256 < 0.6: no correct match,
    # and both GT objects join one merge event
    pred2 = pred.copy()
    pred2[2:18, 10:18] = 0
    e2 = error_types(gt, pred2)
    assert (e2.correct, e2.merged, e2.merged_true, e2.missed) == (0, 1, 2, 0)


def test_perfect_and_empty_predictions():
    gt, _ = _scene()
    assert error_types(gt, gt) == ErrorTypes(n_true=10, n_pred=10, correct=10)
    empty = error_types(gt, np.zeros_like(gt))
    assert (empty.missed, empty.spurious, empty.correct) == (10, 0, 0)


def test_counts_add_over_images():
    gt, pred = _scene()
    one = error_types(gt, pred)
    total = combine_error_types([one, one])
    assert total.correct == 4 and total.catastrophe == 2 and total.n_true == 20
    assert combine_error_types([]) == ErrorTypes()


def test_3d_split():
    gt = np.zeros((6, 10, 10), np.uint8)
    gt[1:5, 2:8, 2:8] = 1
    pred = np.zeros_like(gt)
    pred[1:3, 2:8, 2:8], pred[3:5, 2:8, 2:8] = 4, 5
    e = error_types(gt, pred)
    assert (e.split, e.split_pred, e.correct) == (1, 2, 0)


def test_bad_thresholds():
    gt, pred = _scene()
    with pytest.raises(InputError):
        error_types(gt, pred, correct_iou=0.3)
    with pytest.raises(InputError):
        error_types(gt, pred, link_iou=0.0)
