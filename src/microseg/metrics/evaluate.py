"""Evaluate predicted label images against ground truth: single files, folders matched by file
stem, or a CTC result folder (``NN_RES``) against a CTC ground-truth folder (``NN_GT``).

Metrics (names used by ``microseg evaluate --metrics``):

* ``seg`` — CTC SEG. Overall: mean over all GT objects of all images (the challenge's rule).
* ``f1`` — precision, recall, F1, TP / FP / FN, panoptic quality at one IoU threshold (0.5).
* ``ap`` — TP / (TP + FP + FN) at IoU 0.50:0.05:0.95 (``ap50``, ``ap75``, mean ``map``) and the
  mean F1 over those thresholds (``f1_mean``, the Mesmer / LIVECell summary).
* ``iou`` — pixel IoU of the foreground (``pixel_iou``), MeanIoU over background and foreground,
  Dice.
* ``errors`` — DeepCell error types (correct, missed, spurious, merged, split, catastrophe).
* ``vrand`` — ISBI 2012 V_rand / V_info (2D; a 3D image is scored per z-slice and averaged).
* ``det``, ``tra`` — CTC DET / TRA via py-ctcmetrics (CTC folders only; sequence-level only).

Overall object and pixel scores sum the counts (TP, FP, FN, pixels) over images before taking
ratios, so every object / pixel weighs the same; the per-image means are reported beside them
(``*_image_mean``, NaN images skipped). For CTC data only annotated frames are scored; GT given as
single slices of a 3D frame (``man_seg_TTT_ZZZ.tif``) is compared with slice z of the predicted
3D mask, each slice an image of its own. CTC SEG annotations can be sparse (not every cell
drawn); then F1 / AP count the undrawn cells' predictions as false positives — SEG is the score
designed for such data.
"""
from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from microseg.errors import ConfigError, InputError
from microseg.io.atomic import atomic_path
from microseg.metrics.ctc import SegScores, combine_seg, seg_overlap
from microseg.metrics.ctc_tracking import TRACKING_METRICS, ctc_tracking_scores
from microseg.metrics.errors import ErrorTypes, combine_error_types, error_types_overlap
from microseg.metrics.isbi import RandInfo, combine_rand_info, vrand_vinfo, vrand_vinfo_overlap
from microseg.metrics.matching import DEFAULT_THRESHOLDS, Matching, ThresholdSweep, combine, \
    combine_sweeps, match_overlap, sweep_overlap
from microseg.metrics.overlap import check_pair, overlap_table
from microseg.metrics.pixel import BinaryScores, binary_scores_overlap
from microseg.metrics.scores import nanmean

METRICS = ("seg", "f1", "ap", "iou", "errors", "vrand", "det", "tra")
DEFAULT_METRICS = ("seg", "f1", "ap", "iou")

#: Columns printed per metric by :meth:`EvaluationReport.table` (all values are in the JSON/CSV).
TABLE_COLUMNS = {
    "seg": ("seg",),
    "f1": ("precision", "recall", "f1"),
    "ap": ("ap50", "ap75", "map"),
    "iou": ("pixel_iou", "dice"),
    "errors": ("correct", "missed", "spurious", "merged", "split", "catastrophe"),
    "vrand": ("v_rand", "v_info"),
    "det": ("det",),
    "tra": ("tra",),
}

#: One unit of work: a name and a loader returning the images it holds as
#: ``[(name, gt, pred, meta)]`` (several for a frame annotated in slices).
Loaded = list[tuple[str, np.ndarray, np.ndarray, dict[str, Any]]]


def parse_metrics(metrics: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"seg,f1"`` or ``["seg", "f1"]`` → ``("seg", "f1")``; ``None`` → the defaults.

    Unknown names raise :class:`ConfigError`."""
    if metrics is None:
        return DEFAULT_METRICS
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise ConfigError(f"unknown metric(s) {unknown or metrics!r}; "
                          f"choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


@dataclass
class EvaluationReport:
    """Per-image rows and overall scores of one evaluation (see the module docstring)."""

    metrics: tuple[str, ...]
    pred: str
    gt: str
    kind: str
    images: list[dict[str, Any]] = field(default_factory=list)
    overall: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain({"pred": self.pred, "gt": self.gt, "kind": self.kind,
                       "metrics": list(self.metrics), "overall": self.overall,
                       "images": self.images})

    def columns(self) -> list[str]:
        return [c for m in self.metrics for c in TABLE_COLUMNS[m]]

    def table(self) -> str:
        """A text table: one row per image, then the overall row."""
        columns = self.columns()
        image_columns = [c for c in columns if any(c in row for row in self.images)]
        header = ["image", "n_true", "n_pred"] + (image_columns or columns)
        rows = [[row.get(c) for c in header] for row in self.images]
        rows.append(["overall"] + [self.overall.get(c) for c in header[1:]])
        cells = [[_format(v) for v in row] for row in rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
        lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in
                           enumerate(zip(header, widths)))]
        lines.append("  ".join("-" * w for w in widths))
        if len(cells) > 1:
            lines += [_join(r, widths) for r in cells[:-1]]
            lines.append("  ".join("-" * w for w in widths))
        lines.append(_join(cells[-1], widths))
        extra = [c for c in columns if c not in header]
        if extra:
            lines.append("  ".join(f"{c}={_format(self.overall.get(c))}" for c in extra))
        return "\n".join(lines)

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (NaN as null). Atomic."""
        text = json.dumps(self.to_dict(), indent=2)
        with atomic_path(path) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
        return Path(path)

    def write_csv(self, path: str | Path) -> Path:
        """Write one row per image plus a final ``overall`` row (scalar values only). Atomic."""
        rows = [dict(r) for r in self.images]
        rows.append({"image": "overall", **{k: v for k, v in self.overall.items()
                                            if not isinstance(v, (dict, list))}})
        columns = list(dict.fromkeys(k for r in rows for k in r))
        with atomic_path(path) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: _csv_value(row.get(k)) for k in columns})
        return Path(path)


# --- entry points ----------------------------------------------------------------------------

def evaluate_paths(pred: str | Path, gt: str | Path,
                   metrics: str | Sequence[str] | None = None, *, iou: float = 0.5,
                   progress: bool = False) -> EvaluationReport:
    """Evaluate ``pred`` against ``gt``: two files, two folders of label images matched by stem,
    or a CTC result folder (``maskTTT.tif``) against a CTC GT folder (``SEG`` / ``TRA``)."""
    pred, gt = Path(pred), Path(gt)
    if pred.is_file() and gt.is_file():
        return evaluate_pair(pred, gt, metrics, iou=iou)
    if pred.is_dir() and gt.is_dir():
        if _is_ctc_gt(gt) and any(pred.glob("mask*.tif")):
            return evaluate_ctc(pred, gt, metrics, iou=iou, progress=progress)
        return evaluate_folders(pred, gt, metrics, iou=iou, progress=progress)
    for path in (pred, gt):
        if not path.exists():
            raise InputError(path, "not found")
    raise InputError(pred, f"prediction and ground truth {gt} must both be files or both folders")


def evaluate_pair(pred_path: str | Path, gt_path: str | Path,
                  metrics: str | Sequence[str] | None = None, *,
                  iou: float = 0.5) -> EvaluationReport:
    """Evaluate one predicted label image file against one GT file."""
    from microseg.io.images import read_labels

    metrics = _image_metrics(parse_metrics(metrics), "a single image pair")
    pred_path, gt_path = Path(pred_path), Path(gt_path)

    def load() -> Loaded:
        return [(pred_path.stem, *_read_checked(read_labels, gt_path, pred_path), {})]

    report = EvaluationReport(metrics, str(pred_path), str(gt_path), "pair")
    _score_units(report, [(pred_path.stem, load)], iou, progress=False)
    return report


def evaluate_folders(pred_dir: str | Path, gt_dir: str | Path,
                     metrics: str | Sequence[str] | None = None, *, iou: float = 0.5,
                     progress: bool = False) -> EvaluationReport:
    """Evaluate every predicted label image of ``pred_dir`` against the GT file of the same stem
    in ``gt_dir`` (both folders must hold the same stems)."""
    from microseg.io.folders import pair_by_stem
    from microseg.io.images import read_labels

    metrics = _image_metrics(parse_metrics(metrics), "folders of label images")
    units = []
    for pred_path, gt_path in pair_by_stem(pred_dir, gt_dir):
        def load(p: Path = pred_path, g: Path = gt_path) -> Loaded:
            return [(p.stem, *_read_checked(read_labels, g, p), {})]
        units.append((pred_path.stem, load))
    report = EvaluationReport(metrics, str(pred_dir), str(gt_dir), "folders")
    _score_units(report, units, iou, progress)
    return report


def evaluate_ctc(res_dir: str | Path, gt_dir: str | Path,
                 metrics: str | Sequence[str] | None = None, *, iou: float = 0.5,
                 progress: bool = False) -> EvaluationReport:
    """Evaluate a CTC result folder ``NN_RES`` against ``NN_GT``: image metrics on the frames
    with SEG annotation (slice annotations against the matching z-slice), DET / TRA on the
    whole sequence via py-ctcmetrics."""
    from microseg.io.ctc import CTCGroundTruth

    metrics = parse_metrics(metrics)
    res_dir, gt_dir = Path(res_dir), Path(gt_dir)
    if not res_dir.is_dir():
        raise InputError(res_dir, "result folder not found")
    truth = CTCGroundTruth(gt_dir)
    report = EvaluationReport(metrics, str(res_dir), str(gt_dir), "ctc")
    if any(m not in TRACKING_METRICS for m in metrics):
        if not truth.seg_frames:
            raise InputError(gt_dir / "SEG", "no SEG annotation (man_segTTT.tif) to score against")
        units = [(f"t{t:03d}", _ctc_loader(truth, res_dir, t)) for t in truth.seg_frames]
        _score_units(report, units, iou, progress)
    tracking = [m for m in metrics if m in TRACKING_METRICS]
    if tracking:
        report.overall.update(ctc_tracking_scores(res_dir, gt_dir, tracking))
    return report


def evaluate_arrays(pairs: Iterable[tuple[str, np.ndarray, np.ndarray]],
                    metrics: str | Sequence[str] | None = None, *,
                    iou: float = 0.5) -> EvaluationReport:
    """Evaluate in-memory ``(name, gt, pred)`` label images (e.g. validation predictions)."""
    metrics = _image_metrics(parse_metrics(metrics), "arrays")
    units = []
    for name, gt, pred in pairs:
        def load(n: str = name, g: np.ndarray = gt, p: np.ndarray = pred) -> Loaded:
            gt_checked, pred_checked = check_pair(g, p, f"{n} (ground truth)", n)
            return [(n, gt_checked, pred_checked, {})]
        units.append((name, load))
    report = EvaluationReport(metrics, "arrays", "arrays", "arrays")
    _score_units(report, units, iou, progress=False)
    return report


# --- scoring ---------------------------------------------------------------------------------

def _score_units(report: EvaluationReport, units: list[tuple[str, Callable[[], Loaded]]],
                 iou: float, progress: bool) -> None:
    from tqdm import tqdm

    acc = _Accumulator(report.metrics, iou)
    bar = tqdm(units, desc="evaluate", unit="image", disable=None if progress else True,
               leave=False)
    for _, load in bar:
        for name, gt, pred, meta in load():
            report.images.append(acc.add(name, gt, pred, meta))
    report.overall.update(acc.overall())


class _Accumulator:
    """Scores one image at a time from a single overlap table; keeps what the totals need."""

    def __init__(self, metrics: Sequence[str], iou: float):
        self.metrics, self.iou = set(metrics), iou
        self.n_true = self.n_pred = 0
        self.seg: list[SegScores] = []
        self.matchings: list[Matching] = []
        self.sweeps: list[ThresholdSweep] = []
        self.pixels: list[BinaryScores] = []
        self.errors: list[ErrorTypes] = []
        self.rand: list[RandInfo] = []

    def add(self, name: str, gt: np.ndarray, pred: np.ndarray,
            meta: dict[str, Any]) -> dict[str, Any]:
        table = overlap_table(gt, pred)
        self.n_true += table.n_true
        self.n_pred += table.n_pred
        row: dict[str, Any] = {"image": name, **meta, "n_true": table.n_true,
                               "n_pred": table.n_pred}
        if "seg" in self.metrics:
            self.seg.append(seg_overlap(table))
            row["seg"] = self.seg[-1].seg
        if "f1" in self.metrics:
            self.matchings.append(match_overlap(table, self.iou))
            row.update(_matching_columns(self.matchings[-1]))
        if "ap" in self.metrics:
            self.sweeps.append(sweep_overlap(table, DEFAULT_THRESHOLDS))
            row.update(_sweep_columns(self.sweeps[-1]))
        if "iou" in self.metrics:
            self.pixels.append(binary_scores_overlap(table))
            row.update(_pixel_columns(self.pixels[-1]))
        if "errors" in self.metrics:
            self.errors.append(error_types_overlap(table))
            row.update(_error_columns(self.errors[-1]))
        if "vrand" in self.metrics:
            scores = (vrand_vinfo(gt, pred, per_slice=True) if gt.ndim == 3
                      else vrand_vinfo_overlap(table))
            self.rand.append(scores)
            row.update({"v_rand": scores.v_rand, "v_info": scores.v_info})
        return row

    def overall(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n_images": max(len(x) for x in (
            self.seg, self.matchings, self.sweeps, self.pixels, self.errors, self.rand)),
            "n_true": self.n_true, "n_pred": self.n_pred}
        if self.seg:
            out["seg"] = combine_seg(self.seg)
            out["seg_image_mean"] = nanmean([s.seg for s in self.seg])
        if self.matchings:
            out.update(_matching_columns(combine(self.matchings)))
            out["f1_image_mean"] = nanmean([m.f1 for m in self.matchings])
        if self.sweeps:
            total = combine_sweeps(self.sweeps)
            out.update(_sweep_columns(total))
            out["map_image_mean"] = nanmean([s.mean_ap for s in self.sweeps])
            out["ap_per_threshold"] = {k: v for k, v in total.to_dict().items()
                                       if k not in ("mean_ap", "mean_f1")}
        if self.pixels:
            out.update(_pixel_columns(sum(self.pixels[1:], self.pixels[0])))
        if self.errors:
            out.update(_error_columns(combine_error_types(self.errors)))
        if self.rand:
            mean = combine_rand_info(self.rand)
            out.update({"v_rand": mean.v_rand, "v_info": mean.v_info})
        return out


def _matching_columns(m: Matching) -> dict[str, Any]:
    return {"iou_threshold": m.threshold, "tp": m.tp, "fp": m.fp, "fn": m.fn,
            "precision": m.precision, "recall": m.recall, "f1": m.f1,
            "panoptic_quality": m.panoptic_quality, "mean_matched_iou": m.mean_matched_iou}


def _sweep_columns(s: ThresholdSweep) -> dict[str, Any]:
    return {"ap50": s.at(0.5).accuracy, "ap75": s.at(0.75).accuracy, "map": s.mean_ap,
            "f1_mean": s.mean_f1}


def _pixel_columns(p: BinaryScores) -> dict[str, Any]:
    return {"pixel_iou": p.iou, "mean_iou": p.mean_iou, "dice": p.dice,
            "pixel_accuracy": p.accuracy}


def _error_columns(e: ErrorTypes) -> dict[str, Any]:
    return {k: v for k, v in e.to_dict().items() if k not in ("n_true", "n_pred")}


# --- loading ---------------------------------------------------------------------------------

def _read_checked(read: Callable[[Path], np.ndarray], gt_path: Path,
                  pred_path: Path) -> tuple[np.ndarray, np.ndarray]:
    return check_pair(read(gt_path), read(pred_path), gt_path, pred_path)


def _is_ctc_gt(path: Path) -> bool:
    return (path / "SEG").is_dir() or (path / "TRA").is_dir()


def _result_mask_path(res_dir: Path, t: int) -> Path:
    for name in (f"mask{t:03d}.tif", f"mask{t:04d}.tif"):
        if (res_dir / name).is_file():
            return res_dir / name
    raise InputError(res_dir, f"no mask{t:03d}.tif for annotated frame {t}")


def _ctc_loader(truth, res_dir: Path, t: int) -> Callable[[], Loaded]:
    from microseg.io.images import read_labels

    def load() -> Loaded:
        pred_path = _result_mask_path(res_dir, t)
        pred = read_labels(pred_path)
        out: Loaded = []
        full = truth.seg(t)
        if full is not None:
            gt, checked = check_pair(full, pred, f"{truth.path / 'SEG'} (frame {t})", pred_path)
            out.append((f"t{t:03d}", gt, checked, {"t": t}))
        for z, gt_slice in truth.seg_slices(t).items():
            if pred.ndim != 3 or not 0 <= z < pred.shape[0]:
                raise InputError(pred_path, f"ground truth slice z={z} of frame {t} needs a 3D "
                                            f"mask with that slice, got shape {pred.shape}")
            gt, checked = check_pair(gt_slice, pred[z], f"{truth.path / 'SEG'} (frame {t}, z={z})",
                                     f"{pred_path} (slice z={z})")
            out.append((f"t{t:03d}_z{z:03d}", gt, checked, {"t": t, "z": z}))
        return out

    return load


# --- formatting ------------------------------------------------------------------------------

def _image_metrics(metrics: tuple[str, ...], what: str) -> tuple[str, ...]:
    tracking = [m for m in metrics if m in TRACKING_METRICS]
    if tracking:
        raise InputError(None, f"{'/'.join(tracking)} need a CTC result folder and a CTC "
                               f"ground-truth folder, not {what}")
    return metrics


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars → Python numbers, NaN → None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value


def _csv_value(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, str):   # undecodable bytes of file names as \xNN: the CSV stays UTF-8
        return os.fsencode(value).decode("utf-8", "backslashreplace")
    return "" if value is None else value


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _join(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(cells, widths)))

