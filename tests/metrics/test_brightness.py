"""Recall by brightness class, checked on images where which objects are found is set by hand."""
import numpy as np
import pytest

from microseg.errors import InputError
from microseg.metrics import recall_by_brightness
from microseg.metrics.brightness import BrightnessRecall


def squares(n, shape=(40, 400)):
    """``n`` 8×8 squares in a row; square ``k`` has id ``k + 1`` and brightness ``10 · (k + 1)``."""
    gt = np.zeros(shape, np.uint16)
    image = np.zeros(shape, np.float32)
    for k in range(n):
        gt[10:18, 10 + 20 * k:18 + 20 * k] = k + 1
        image[gt == k + 1] = 10.0 * (k + 1)
    return gt, image


def test_dimmest_objects_missed_show_in_the_dimmest_class_only():
    gt, image = squares(10)
    pred = gt.copy()
    pred[np.isin(gt, [1, 2, 3])] = 0                 # miss the three dimmest
    result = recall_by_brightness(gt, pred, image, bins=5)
    np.testing.assert_array_equal(result.total, [2, 2, 2, 2, 2])
    np.testing.assert_array_equal(result.found, [0, 1, 2, 2, 2])
    np.testing.assert_allclose(result.recall, [0.0, 0.5, 1.0, 1.0, 1.0])


def test_classes_follow_brightness_not_label_order_and_pool_over_images():
    gt, image = squares(5)
    image = image[:, ::-1].copy()                    # now id 1 is the brightest
    gt = gt[:, ::-1].copy()
    image_flipped = np.zeros_like(image)
    for k in range(1, 6):
        image_flipped[gt == k] = 100.0 - 10 * k       # id 5 dimmest
    pred = gt.copy()
    pred[gt == 5] = 0
    one = recall_by_brightness(gt, pred, image_flipped, bins=5)
    np.testing.assert_array_equal(one.found, [0, 1, 1, 1, 1])
    pooled = one + recall_by_brightness(gt, gt, image_flipped, bins=5)
    np.testing.assert_array_equal(pooled.total, [2] * 5)
    np.testing.assert_allclose(pooled.recall, [0.5, 1, 1, 1, 1])


def test_a_poor_overlap_is_a_miss_and_rgb_is_averaged():
    gt, image = squares(2)
    pred = gt.copy()
    pred[10:18, 10:14] = 0                           # half of object 1 left: IoU exactly 0.5
    rgb = np.stack([image, image, image], axis=-1)
    result = recall_by_brightness(gt, pred, rgb, bins=2, iou=0.5)
    np.testing.assert_array_equal(result.found, [1, 1])   # "at least the threshold" matches
    result = recall_by_brightness(gt, pred, rgb, bins=2, iou=0.6)
    np.testing.assert_array_equal(result.found, [0, 1])


def test_empty_ground_truth_and_bad_input():
    gt = np.zeros((10, 10), np.uint16)
    result = recall_by_brightness(gt, gt, np.zeros((10, 10)), bins=3)
    assert np.isnan(result.recall).all() and result.total.sum() == 0
    with pytest.raises(InputError, match="differ"):
        recall_by_brightness(gt, gt, np.zeros((5, 5)))
    with pytest.raises(InputError, match="bins"):
        recall_by_brightness(gt, gt, np.zeros((10, 10)), bins=0)
    with pytest.raises(ValueError):
        BrightnessRecall(np.zeros(2), np.zeros(2)) + BrightnessRecall(np.zeros(3), np.zeros(3))
