import numpy as np
import pytest

from microseg.errors import InputError
import microseg.metrics.overlap as overlap_module
from microseg.metrics.overlap import overlap_table


def _brute_force(gt, pred):
    """Intersection of every (gt id, pred id) pair, one mask comparison per pair."""
    table = {}
    for g in np.unique(gt[gt > 0]):
        for p in np.unique(pred[pred > 0]):
            n = int(np.count_nonzero((gt == g) & (pred == p)))
            if n:
                table[(int(g), int(p))] = n
    return table


def _as_dict(ov):
    return {(int(ov.gt_ids[r]), int(ov.pred_ids[c])): int(n)
            for r, c, n in zip(ov.rows, ov.cols, ov.counts)}


@pytest.mark.parametrize("shape", [(48, 64), (12, 24, 30)])
def test_overlap_matches_brute_force(label_pair, shape):
    gt, pred = label_pair(1, shape=shape)
    ov = overlap_table(gt, pred)
    assert _as_dict(ov) == _brute_force(gt, pred)
    np.testing.assert_array_equal(ov.gt_ids, np.unique(gt[gt > 0]))
    np.testing.assert_array_equal(ov.pred_ids, np.unique(pred[pred > 0]))
    np.testing.assert_array_equal(ov.gt_sizes, [np.sum(gt == g) for g in ov.gt_ids])
    np.testing.assert_array_equal(ov.pred_sizes, [np.sum(pred == p) for p in ov.pred_ids])
    np.testing.assert_array_equal(ov.gt_on_background,
                                  [np.sum((gt == g) & (pred == 0)) for g in ov.gt_ids])
    np.testing.assert_array_equal(ov.pred_on_background,
                                  [np.sum((pred == p) & (gt == 0)) for p in ov.pred_ids])
    union = [np.sum((gt == ov.gt_ids[r]) | (pred == ov.pred_ids[c])) for r, c in zip(ov.rows,
                                                                                     ov.cols)]
    np.testing.assert_allclose(ov.iou, ov.counts / np.array(union))
    dense = ov.iou_matrix()
    assert dense.shape == (ov.n_true, ov.n_pred)
    assert np.count_nonzero(dense) == ov.rows.size


def test_sparse_path_and_huge_ids_agree_with_dense(label_pair, monkeypatch):
    gt, pred = label_pair(2)
    dense = _as_dict(overlap_table(gt, pred))
    monkeypatch.setattr(overlap_module, "DENSE_TABLE_LIMIT", 4)
    assert _as_dict(overlap_table(gt, pred)) == dense
    # ids far larger than the image use the np.unique path of the id compaction
    big = np.where(pred > 0, pred.astype(np.uint32) + 3_000_000_000, 0).astype(np.uint32)
    shifted = {(g, p + 3_000_000_000): n for (g, p), n in dense.items()}
    assert _as_dict(overlap_table(gt, big)) == shifted


def test_empty_images_and_background_only():
    ov = overlap_table(np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.uint8))
    assert ov.n_true == ov.n_pred == 0 and ov.rows.size == 0 and ov.n_pixels == 20


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match=r"does not match"):
        overlap_table(np.zeros((4, 5), np.uint8), np.zeros((5, 4), np.uint8))
    with pytest.raises(InputError, match=r"≥ 0"):
        overlap_table(np.full((3, 3), -1), np.zeros((3, 3), np.uint8))
    with pytest.raises(InputError, match=r"whole numbers"):
        overlap_table(np.full((3, 3), 0.5), np.zeros((3, 3), np.uint8))
