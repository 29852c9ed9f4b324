import contextlib
import csv
import io
import json

import numpy as np
import pytest

from microseg.cli import main
from microseg.errors import ConfigError, InputError
from microseg.io.ctc import write_ctc_result, write_ctc_sequence
from microseg.io.images import write_image, write_labels
from microseg.metrics import (
    evaluate_arrays,
    evaluate_ctc,
    evaluate_folders,
    evaluate_pair,
    evaluate_paths,
    vrand_vinfo,
)
from microseg.metrics.evaluate import parse_metrics

THRESHOLDS = np.linspace(0.5, 0.95, 10)


def _ctcmetrics(res, gt, metrics):
    from ctc_metrics import evaluate_sequence

    with contextlib.redirect_stdout(io.StringIO()):
        return evaluate_sequence(str(res), str(gt), metrics=metrics, threads=1)


def _ctc_dataset(root, frames, annotated, res, seg_slices=None):
    """Write NN/, NN_GT (SEG on ``annotated`` frames or as slices, TRA on all) and NN_RES."""
    images = [(f > 0).astype(np.uint8) * 100 for f in frames]
    seg = {} if seg_slices else {t: frames[t] for t in annotated}
    write_ctc_sequence(root, 1, images, seg=seg, tra=dict(enumerate(frames)),
                       seg_slices=seg_slices)
    write_ctc_result(root / "01_RES", dict(enumerate(res)))
    return root / "01_RES", root / "01_GT"


def test_ctc_seg_equals_py_ctcmetrics_2d(tmp_path, label_pair):
    pairs = [label_pair(seed, shape=(48, 64)) for seed in range(4)]
    res, gt = _ctc_dataset(tmp_path, [g for g, _ in pairs], [0, 2, 3], [p for _, p in pairs])
    report = evaluate_ctc(res, gt, "seg,f1")
    assert [row["image"] for row in report.images] == ["t000", "t002", "t003"]
    assert report.overall["seg"] == pytest.approx(_ctcmetrics(res, gt, ["SEG"])["SEG"], abs=1e-9)


def test_ctc_slice_ground_truth_uses_the_matching_z_slice(tmp_path, label_pair):
    gts, preds, slices = [], [], {}
    for t in range(3):
        gt, pred = label_pair(10 + t, shape=(8, 40, 48))
        gts.append(gt)
        preds.append(pred)
        z = 2 + t
        slices[t] = {z: gt[z]}
    res, gt_dir = _ctc_dataset(tmp_path, gts, [], preds, seg_slices=slices)
    report = evaluate_ctc(res, gt_dir, ["seg"])
    assert [row["image"] for row in report.images] == ["t000_z002", "t001_z003", "t002_z004"]
    # one annotated slice per frame: py-ctcmetrics (which stacks a frame's slices) agrees
    assert report.overall["seg"] == pytest.approx(_ctcmetrics(res, gt_dir, ["SEG"])["SEG"],
                                                  abs=1e-9)
    # a prediction that is right on the annotated slice only scores perfectly
    right_there = [np.zeros_like(p) for p in preds]
    for t, (z, labels) in enumerate(s for slc in slices.values() for s in slc.items()):
        right_there[t][z] = labels
    write_ctc_result(tmp_path / "exact_RES", dict(enumerate(right_there)))
    assert evaluate_ctc(tmp_path / "exact_RES", gt_dir, ["seg"]).overall["seg"] == 1.0


def _tracking_dataset(root):
    frames = []
    for t in range(3):
        labels = np.zeros((20, 30), np.uint16)
        labels[2:8, 2:8] = 1
        labels[10:16, 10 + t:16 + t] = 2
        frames.append(labels)
    tracks = np.array([[1, 0, 2, 0], [2, 0, 2, 0]])
    write_ctc_sequence(root, 1, [f.astype(np.uint8) for f in frames], seg={2: frames[2]},
                       tra=dict(enumerate(frames)), tracks=tracks)
    write_ctc_result(root / "01_RES", dict(enumerate(frames)), tracks)
    lost = [f.copy() for f in frames]
    lost[2][lost[2] == 2] = 0                      # cell 2 lost in the last frame
    write_ctc_result(root / "lost_RES", dict(enumerate(lost)), np.array([[1, 0, 2, 0],
                                                                         [2, 0, 1, 0]]))
    return root / "01_GT"


def test_det_tra_through_py_ctcmetrics(tmp_path):
    gt = _tracking_dataset(tmp_path)
    perfect = evaluate_ctc(tmp_path / "01_RES", gt, "seg,det,tra")
    assert (perfect.overall["det"], perfect.overall["tra"], perfect.overall["seg"]) == (1, 1, 1)
    lost = evaluate_ctc(tmp_path / "lost_RES", gt, "det,tra").overall
    # 6 GT vertices, 4 GT edges; one missed vertex (FN, weight 10) and its edge (EA, 1.5)
    assert lost["det"] == pytest.approx(1 - 10 / (10 * 6))
    assert lost["tra"] == pytest.approx(1 - (10 + 1.5) / (10 * 6 + 1.5 * 4))
    assert (lost["aogm_fn"], lost["aogm_ea"]) == (1, 1)
    (tmp_path / "lost_RES" / "res_track.txt").unlink()
    with pytest.raises(InputError, match="res_track.txt"):
        evaluate_ctc(tmp_path / "lost_RES", gt, "det")


def _folders(tmp_path, pairs, gt_suffix=".tif", pred_suffix=".tif"):
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    for k, (gt, pred) in enumerate(pairs):
        write_labels(gt_dir / f"img{k}{gt_suffix}", gt)
        write_image(pred_dir / f"img{k}{pred_suffix}", pred)
    return pred_dir, gt_dir


def test_folders_f1_and_ap_equal_an_independent_count(tmp_path, label_pair, greedy_matches):
    pairs = [label_pair(seed) for seed in range(3)] + [label_pair(9, shape=(30, 90))]
    pred_dir, gt_dir = _folders(tmp_path, pairs)
    report = evaluate_folders(pred_dir, gt_dir, "f1,ap", progress=True)
    assert [row["image"] for row in report.images] == ["img0", "img1", "img2", "img3"]
    for t_index, t in enumerate(THRESHOLDS):
        tp = fp = fn = 0
        for k, (gt, pred) in enumerate(pairs):
            n_tp = len(greedy_matches(gt, pred, t))
            n_gt, n_pred = len(np.unique(gt[gt > 0])), len(np.unique(pred[pred > 0]))
            tp, fp, fn = tp + n_tp, fp + n_pred - n_tp, fn + n_gt - n_tp
            if t == 0.5:
                row = report.images[k]
                assert row["f1"] == pytest.approx(2 * n_tp / (n_gt + n_pred))
                assert row["ap50"] == pytest.approx(n_tp / (n_gt + n_pred - n_tp))
        ap = report.overall["ap_per_threshold"]["ap"][t_index]
        assert ap == pytest.approx(tp / (tp + fp + fn))
        if t == 0.5:
            assert (report.overall["tp"], report.overall["fp"], report.overall["fn"]) == \
                (tp, fp, fn)
            assert report.overall["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert report.overall["map"] == pytest.approx(
        np.mean(report.overall["ap_per_threshold"]["ap"]))


def test_cli_prints_table_and_writes_json_and_csv(tmp_path, label_pair, capsys):
    pairs = [label_pair(seed) for seed in range(2)]
    pred_dir, gt_dir = _folders(tmp_path, pairs, pred_suffix=".npy")
    out_json, out_csv = tmp_path / "out" / "scores.json", tmp_path / "out" / "scores.csv"
    code = main(["evaluate", str(pred_dir), str(gt_dir), "--metrics", "seg,f1,errors,iou,vrand",
                 "--json", str(out_json), "--csv", str(out_csv)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "overall" in printed and "img0" in printed and "img1" in printed
    saved = json.loads(out_json.read_text())
    api = evaluate_paths(pred_dir, gt_dir, "seg,f1,errors,iou,vrand")
    assert saved["overall"]["seg"] == pytest.approx(api.overall["seg"])
    assert saved["overall"]["correct"] == api.overall["correct"]
    assert saved["images"][1]["v_rand"] == pytest.approx(api.images[1]["v_rand"])
    rows = list(csv.DictReader(out_csv.read_text().splitlines()))
    assert [r["image"] for r in rows] == ["img0", "img1", "overall"]
    assert float(rows[-1]["f1"]) == pytest.approx(api.overall["f1"])
    assert sorted(p.name for p in out_json.parent.iterdir()) == ["scores.csv", "scores.json"]


def test_shape_mismatch_names_both_files(tmp_path, capsys):
    gt, pred = tmp_path / "gt.tif", tmp_path / "pred.tif"
    write_labels(gt, np.ones((10, 12), np.uint16))
    write_labels(pred, np.ones((10, 11), np.uint16))
    with pytest.raises(InputError) as info:
        evaluate_pair(pred, gt)
    assert str(pred) in str(info.value) and str(gt) in str(info.value)
    assert main(["evaluate", str(pred), str(gt)]) == 2
    assert "gt.tif" in capsys.readouterr().err


def test_single_pair_arrays_and_3d(label_pair):
    gt, pred = label_pair(5, shape=(10, 30, 40))
    report = evaluate_arrays([("vol", gt, pred)], "seg,ap,vrand")
    assert report.images[0]["image"] == "vol"
    assert report.overall["seg"] == report.images[0]["seg"]
    per_slice = vrand_vinfo(gt, pred, per_slice=True)   # ISBI protocol: 2D slices, averaged
    assert report.overall["v_rand"] == pytest.approx(per_slice.v_rand)
    assert report.overall["v_rand"] != pytest.approx(vrand_vinfo(gt, pred).v_rand)


def test_bad_requests(tmp_path, label_pair):
    with pytest.raises(ConfigError, match="unknown metric"):
        parse_metrics("seg,dice")
    assert parse_metrics(" SEG, f1 ,seg") == ("seg", "f1")
    pred_dir, gt_dir = _folders(tmp_path, [label_pair(0)])
    with pytest.raises(InputError, match="CTC"):
        evaluate_folders(pred_dir, gt_dir, "seg,det")
    with pytest.raises(InputError, match="both be files or both folders"):
        evaluate_paths(pred_dir / "img0.tif", gt_dir)
    with pytest.raises(InputError, match="not found"):
        evaluate_paths(tmp_path / "missing", gt_dir)
