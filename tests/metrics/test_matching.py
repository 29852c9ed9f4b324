import itertools
import math

import numpy as np
import pytest

from microseg.errors import InputError
from microseg.metrics import average_precision, combine, match
from microseg.metrics.matching import combine_sweeps
from microseg.metrics.overlap import overlap_table

THRESHOLDS = np.linspace(0.5, 0.95, 10)


def test_hand_computed_case():
    gt = np.zeros((10, 20), np.uint16)
    gt[0:4, 0:4] = 1        # 16 px
    gt[0:4, 10:14] = 2      # 16 px
    gt[6:10, 0:4] = 3       # missed
    pred = np.zeros_like(gt)
    pred[0:4, 0:4] = 8      # IoU 1
    pred[0:4, 11:14] = 9    # IoU 12/16 = 0.75
    pred[6:8, 15:18] = 5    # spurious
    m = match(gt, pred, iou=0.5)
    assert (m.tp, m.fp, m.fn) == (2, 1, 1)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3) and m.accuracy == pytest.approx(0.5)
    assert m.mean_matched_iou == pytest.approx((1 + 0.75) / 2)
    assert m.panoptic_quality == pytest.approx(1.75 / (2 + 0.5 + 0.5))
    assert sorted(zip(m.gt_ids.tolist(), m.pred_ids.tolist())) == [(1, 8), (2, 9)]
    strict = match(gt, pred, iou=0.8)
    assert (strict.tp, strict.fp, strict.fn) == (1, 2, 2)


@pytest.mark.parametrize("shape", [(64, 80), (14, 30, 36)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_greedy_unique_matching_at_and_above_half(label_pair, greedy_matches, shape,
                                                         seed):
    gt, pred = label_pair(seed, shape=shape)
    for t in THRESHOLDS:
        m = match(gt, pred, iou=t)
        expected = greedy_matches(gt, pred, t)
        assert sorted(zip(m.gt_ids.tolist(), m.pred_ids.tolist())) == \
            sorted((g, p) for g, p, _ in expected)
        assert m.sum_matched_iou == pytest.approx(sum(v for _, _, v in expected), abs=1e-12)


def _best_assignment(iou, threshold):
    """Exhaustive search: most matches, then largest summed IoU, over all one-to-one maps."""
    iou = iou[(iou >= threshold).any(axis=1)][:, (iou >= threshold).any(axis=0)]
    n_t, n_p = iou.shape
    best = (0, 0.0)
    for k in range(min(n_t, n_p), 0, -1):
        for rows in itertools.combinations(range(n_t), k):
            for cols in itertools.permutations(range(n_p), k):
                values = iou[list(rows), list(cols)]
                if np.all(values >= threshold):
                    best = max(best, (k, float(values.sum())))
        if best[0]:
            return best
    return best


@pytest.mark.parametrize("seed", range(6))
def test_low_threshold_assignment_is_optimal(label_pair, seed):
    gt, pred = label_pair(seed, shape=(40, 40), n=6, jitter=3.0)
    iou = overlap_table(gt, pred).iou_matrix()
    for t in (0.1, 0.2, 0.3):
        m = match(gt, pred, iou=t)
        n, total = _best_assignment(iou, t)
        assert m.tp == n and m.sum_matched_iou == pytest.approx(total)


def test_prefers_more_matches_over_higher_iou():
    # GT a (cols 0-9) and b (cols 10-19); p1 covers a and part of b, p2 covers only a's left
    gt = np.zeros((1, 20), np.uint8)
    gt[0, :10], gt[0, 10:] = 1, 2
    pred = np.zeros_like(gt)
    pred[0, 4:14], pred[0, :4] = 7, 8
    # IoU: a–p1 6/14, b–p1 4/16, a–p2 4/10; best single pair is a–p1, but a–p2 + b–p1 gives two
    m = match(gt, pred, iou=0.25)
    assert m.tp == 2 and sorted(zip(m.gt_ids, m.pred_ids)) == [(1, 8), (2, 7)]


def test_empty_images_give_nan_ratios_and_counts():
    empty = np.zeros((5, 5), np.uint8)
    one = empty.copy()
    one[1:3, 1:3] = 1
    m = match(empty, empty)
    assert (m.tp, m.fp, m.fn) == (0, 0, 0) and math.isnan(m.f1) and math.isnan(m.precision)
    m = match(one, empty)
    assert m.fn == 1 and m.recall == 0 and math.isnan(m.precision) and m.f1 == 0


def test_combine_sums_counts_not_per_image_scores(label_pair):
    pairs = [label_pair(s) for s in range(3)]
    per_image = [match(g, p) for g, p in pairs]
    total = combine(per_image)
    assert total.tp == sum(m.tp for m in per_image)
    assert total.fp == sum(m.fp for m in per_image)
    assert total.fn == sum(m.fn for m in per_image)
    # the same as matching one image made by placing the three side by side (ids made distinct)
    wide_gt = np.hstack([np.where(g > 0, g + 100 * k, 0) for k, (g, _) in enumerate(pairs)])
    wide_pred = np.hstack([np.where(p > 0, p + 1000 * k, 0) for k, (_, p) in enumerate(pairs)])
    wide = match(wide_gt, wide_pred)
    assert (wide.tp, wide.fp, wide.fn) == (total.tp, total.fp, total.fn)
    assert wide.sum_matched_iou == pytest.approx(total.sum_matched_iou)
    sweeps = combine_sweeps([average_precision(g, p) for g, p in pairs])
    np.testing.assert_allclose(sweeps.ap, average_precision(wide_gt, wide_pred).ap)
    with pytest.raises(InputError):
        combine([match(*pairs[0], iou=0.5), match(*pairs[0], iou=0.7)])


def test_average_precision_sweep(label_pair):
    gt, pred = label_pair(4)
    sweep = average_precision(gt, pred)
    np.testing.assert_allclose(sweep.thresholds, THRESHOLDS)
    for t, ap, f1 in zip(THRESHOLDS, sweep.ap, sweep.f1):
        m = match(gt, pred, iou=t)
        assert ap == pytest.approx(m.tp / (m.tp + m.fp + m.fn))
        assert f1 == pytest.approx(m.f1)
    assert sweep.mean_ap == pytest.approx(np.mean(sweep.ap))
    assert np.all(np.diff(sweep.ap) <= 1e-12)  # stricter thresholds never add matches
    assert sweep.at(0.75).threshold == pytest.approx(0.75)
    with pytest.raises(InputError):
        sweep.at(0.52)


def test_bad_threshold():
    with pytest.raises(InputError):
        match(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), iou=0)


# --- cross-check with pycocotools ------------------------------------------------------------

def _coco_counts(gt, pred, thresholds):
    """TP / FP / FN and recall per IoU threshold from pycocotools' COCOeval ('segm')."""
    import contextlib
    import io

    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def rle(binary):
        encoded = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))
        encoded["counts"] = encoded["counts"].decode("ascii")
        return encoded

    height, width = gt.shape
    annotations = []
    for k, g in enumerate(np.unique(gt[gt > 0]), start=1):
        r = rle(gt == g)
        annotations.append({"id": k, "image_id": 1, "category_id": 1, "segmentation": r,
                            "area": float(mask_utils.area(r)), "iscrowd": 0,
                            "bbox": mask_utils.toBbox(r).tolist()})
    coco_gt = COCO()
    coco_gt.dataset = {"images": [{"id": 1, "height": height, "width": width}],
                       "annotations": annotations, "categories": [{"id": 1, "name": "cell"}]}
    detections = [{"image_id": 1, "category_id": 1, "segmentation": rle(pred == p), "score": 1.0}
                  for p in np.unique(pred[pred > 0])]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(detections)
        evaluator = COCOeval(coco_gt, coco_dt, "segm")
        evaluator.params.iouThrs = np.asarray(thresholds)
        evaluator.params.maxDets = [1000]
        evaluator.params.areaRng = [[0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.evaluate()
        evaluator.accumulate()
    image = [e for e in evaluator.evalImgs if e is not None][0]
    tp = (image["dtMatches"] > 0).sum(axis=1)
    n_dt, n_gt = len(image["dtIds"]), len(image["gtIds"])
    recall = evaluator.eval["recall"][:, 0, 0, 0]
    return tp, n_dt - tp, n_gt - tp, recall, evaluator.eval["precision"][:, :, 0, 0, 0]


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_counts_equal_cocoeval_where_definitions_coincide(label_pair, seed):
    """For IoU ≥ 0.5 COCO's greedy matching (detections in score order, each to its best free
    GT) and our optimal matching coincide, so TP / FP / FN and recall agree exactly. COCO's "AP"
    is the area under its 101-point interpolated precision-recall curve over score-ranked
    detections; ours is TP / (TP + FP + FN) — different quantities, not compared."""
    gt, pred = label_pair(seed)
    tp, fp, fn, recall, _ = _coco_counts(gt, pred, THRESHOLDS)
    sweep = average_precision(gt, pred, THRESHOLDS)
    np.testing.assert_array_equal([m.tp for m in sweep.matchings], tp)
    np.testing.assert_array_equal([m.fp for m in sweep.matchings], fp)
    np.testing.assert_array_equal([m.fn for m in sweep.matchings], fn)
    np.testing.assert_allclose(sweep.recall, recall, atol=1e-6)


def test_coco_greedy_matching_differs_below_half():
    """Below IoU 0.5 COCO's greedy matching can miss the larger assignment ours finds."""
    gt = np.zeros((4, 20), np.uint8)
    gt[:, :10], gt[:, 10:] = 1, 2
    pred = np.zeros_like(gt)
    pred[:, 4:14], pred[:, :4] = 7, 8
    tp, _, _, _, _ = _coco_counts(gt, pred, [0.25])
    assert tp[0] == 1 and match(gt, pred, iou=0.25).tp == 2
