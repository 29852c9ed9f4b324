import math

import numpy as np
import pytest
import tifffile

from microseg.errors import InputError
from microseg.metrics import combine_seg, peseg, seg_per_object, seg_score


def _ctcmetrics_seg(tmp_path, pairs):
    """SEG of py-ctcmetrics over (gt, pred) frames written as TIFF files."""
    from ctc_metrics.metrics import seg
    from ctc_metrics.utils.representations import match

    labels_ref, ious = [], []
    for k, (gt, pred) in enumerate(pairs):
        ref, comp = tmp_path / f"ref{k}.tif", tmp_path / f"comp{k}.tif"
        tifffile.imwrite(ref, gt.astype(np.uint16))
        tifffile.imwrite(comp, pred.astype(np.uint16))
        found = match(str(ref), str(comp))
        labels_ref.append(found[0])
        ious.append(found[4])
    return seg(labels_ref, ious)


def test_hand_computed_seg():
    gt = np.zeros((6, 12), np.uint8)
    gt[0:2, 0:4] = 1          # 8 px
    gt[3:5, 0:4] = 2          # 8 px
    gt[0:4, 6:10] = 3         # 16 px
    pred = np.zeros_like(gt)
    pred[0:2, 0:5] = 4        # covers all of 1: J = 8 / 10
    pred[3:5, 0:2] = 5        # covers exactly half of 2: not > 0.5 → 0
    pred[0:4, 6:9] = 6        # covers 12 of 16 of 3: J = 12 / 16
    scores = seg_per_object(gt, pred)
    np.testing.assert_allclose(scores.jaccard, [0.8, 0.0, 0.75])
    np.testing.assert_array_equal(scores.pred_ids, [4, 0, 6])
    assert seg_score(gt, pred) == pytest.approx((0.8 + 0 + 0.75) / 3)
    assert seg_score(gt, gt) == 1.0


@pytest.mark.parametrize("shape", [(64, 80), (12, 32, 40)])
def test_seg_equals_py_ctcmetrics(tmp_path, label_pair, shape):
    pairs = [label_pair(seed, shape=shape) for seed in range(3)]
    for gt, pred in pairs:
        assert seg_score(gt, pred) == pytest.approx(_ctcmetrics_seg(tmp_path, [(gt, pred)]),
                                                    abs=1e-9)
    dataset = combine_seg(seg_per_object(g, p) for g, p in pairs)
    assert dataset == pytest.approx(_ctcmetrics_seg(tmp_path, pairs), abs=1e-9)
    # dataset SEG weights every object equally, not every image
    n = [len(np.unique(g[g > 0])) for g, _ in pairs]
    per_image = [seg_score(g, p) for g, p in pairs]
    assert dataset == pytest.approx(np.dot(n, per_image) / sum(n))


def test_seg_without_gt_objects_is_nan():
    assert math.isnan(seg_score(np.zeros((4, 4), np.uint8), np.ones((4, 4), np.uint8)))
    assert math.isnan(combine_seg([]))


def test_peseg_matches_paper_table():
    # EfficientCellSeg, Table 3: SEG 0.951 with 6.7 M parameters → PESEG 0.142
    assert peseg(0.951, 6_700_000) == pytest.approx(0.1419, abs=1e-4)
    assert peseg(0.646, 13_400_000) == pytest.approx(0.048, abs=5e-4)
    with pytest.raises(InputError):
        peseg(0.9, 0)
