import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, jaccard_score, precision_score, recall_score

from microseg.errors import InputError
from microseg.metrics import binary_scores, pixel_iou
from microseg.metrics.overlap import overlap_table
from microseg.metrics.pixel import binary_scores_overlap


@pytest.mark.parametrize("shape", [(40, 50), (10, 20, 24)])
def test_binary_scores_equal_sklearn(label_pair, shape):
    gt, pred = label_pair(7, shape=shape)
    y_true, y_pred = (gt > 0).ravel(), (pred > 0).ravel()
    s = binary_scores(gt > 0, pred > 0)
    assert s.iou == pytest.approx(jaccard_score(y_true, y_pred), abs=1e-12)
    assert s.dice == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)
    assert s.f1 == s.dice
    assert s.precision == pytest.approx(precision_score(y_true, y_pred), abs=1e-12)
    assert s.recall == pytest.approx(recall_score(y_true, y_pred), abs=1e-12)
    assert s.accuracy == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    per_class = jaccard_score(y_true, y_pred, average=None)
    assert s.mean_iou == pytest.approx(per_class.mean(), abs=1e-12)
    assert binary_scores_overlap(overlap_table(gt, pred)) == s


def test_multiclass_iou_equals_sklearn():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 3, size=(30, 30))
    pred = np.where(rng.random((30, 30)) < 0.7, gt, rng.integers(0, 3, size=(30, 30)))
    result = pixel_iou(gt, pred)
    expected = jaccard_score(gt.ravel(), pred.ravel(), average=None)
    np.testing.assert_allclose(result.per_class, expected, atol=1e-12)
    assert result.mean == pytest.approx(expected.mean(), abs=1e-12)
    assert result.confusion.sum() == gt.size


def test_absent_class_is_nan_and_left_out_of_the_mean():
    gt = np.array([[0, 0, 2, 2]])
    pred = np.array([[0, 2, 2, 2]])
    result = pixel_iou(gt, pred, n_classes=3)
    assert result.per_class[0] == 0.5 and math.isnan(result.per_class[1])
    assert result.per_class[2] == pytest.approx(2 / 3)
    assert result.mean == pytest.approx((0.5 + 2 / 3) / 2)


def test_scores_add_up_over_images(label_pair):
    (g1, p1), (g2, p2) = label_pair(1), label_pair(2)
    total = binary_scores(g1, p1) + binary_scores(g2, p2)
    assert total == binary_scores(np.hstack([g1, g2]), np.hstack([p1, p2]))


def test_bad_inputs():
    with pytest.raises(InputError):
        binary_scores(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(InputError, match="outside"):
        pixel_iou(np.array([0, 5]), np.array([0, 1]), n_classes=2)
    with pytest.raises(InputError, match="integers"):
        pixel_iou(np.array([0.5]), np.array([0]), n_classes=2)
