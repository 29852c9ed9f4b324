"""Cell Tracking Challenge benchmark of ``microseg.track`` (and, with ``--segment``, of the whole
segment-then-track pipeline).

    .venv/bin/python benchmarks/ctc.py [--gap-closing] [--json FILE]
    .venv/bin/python benchmarks/ctc.py --segment CHECKPOINT|NAME [--tta none mean]
                                       [--frames Fluo-N2DH-SIM+=50:65 ...]

(a) Tracking alone. For every CTC sequence ``$MICROSEG_DATA/ctc/<dataset>/01`` the ground-truth
TRA markers (``01_GT/TRA/man_trackTTT.tif``) are the input objects, each frame's ids replaced by
a random permutation of 1..n (seeded) so that no identity is given away; they are tracked with
the raw frames, written as a CTC result and scored against ``01_GT`` by py-ctcmetrics (DET, TRA
and the AOGM error counts). With markers as objects DET is 1 by construction and TRA measures the
linking, division and lineage decisions alone. Then the 3D+t (CHO) and 2D+t (HeLa) automatic
segmentations ``$MICROSEG_DATA/timelapse/*_ERR_SEG.tif`` are tracked with their frames: they
have no ground truth, so only counts and run time are reported.

(b) ``--segment CHECKPOINT|NAME``: every frame of the evaluated range is segmented with the model
(:func:`microseg.pipelines.cells.segment`, the model's own normalisation; for ``sequence`` normalisation
the min/max of the whole sequence), once per ``--tta`` setting, the labels are tracked, and
SEG, DET and TRA are computed on those frames only (the ground truth is cut to the range and
renumbered from 0, parent links into earlier frames dropped). The default ranges are the
validation ranges of ``configs/xbnet_universal.yaml`` and ``configs/default_model.yaml`` (the
bundled ``default`` model), i.e. frames those models were not trained on (they train on the
frames before them): Fluo-N2DH-GOWT1 35–91, Fluo-N2DH-SIM+ 50–64,
Fluo-C2DL-MSC 35–47.

The data root is ``$MICROSEG_DATA`` (default ``../shared/data`` beside the repository). Prints a
table and one JSON line.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from microseg.cli import diameter_arg
from microseg.io.ctc import CTCSequence, write_ctc_sequence
from microseg.io.images import read_array, read_labels
from microseg.metrics import ctc_tracking_scores, evaluate_ctc
from microseg.track import TrackConfig, clip_tracks, track, write_tracking

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("Fluo-N2DH-GOWT1", "Fluo-N2DH-SIM+", "Fluo-C2DL-MSC")
#: Frames [first, stop) evaluated in (b): not used for training by configs/xbnet_universal.yaml.
HELD_OUT = {"Fluo-N2DH-GOWT1": (35, 92), "Fluo-N2DH-SIM+": (50, 65), "Fluo-C2DL-MSC": (35, 48)}
#: CTC voxel size (z, y, x) in µm of Fluo-N3DH-CHO; the HeLa frames are isotropic 2D.
TIMELAPSE = {"Fluo-N3DH-CHO_02": (1.0, 0.202, 0.202), "Fluo_Hela_02": None}


def data_root() -> Path:
    return Path(os.environ.get("MICROSEG_DATA", REPO.parent / "shared" / "data"))


def shuffle_ids(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``labels`` with its ids replaced by a random permutation of 1..n."""
    ids = np.unique(labels)
    ids = ids[ids > 0]
    lut = np.zeros(int(labels.max(initial=0)) + 1, np.int64)
    lut[ids] = rng.permutation(ids.size) + 1
    return lut[labels]


def n_divisions(tracks: np.ndarray) -> int:
    """Parents with exactly two children in a track table."""
    _, counts = np.unique(tracks[tracks[:, 3] > 0, 3], return_counts=True)
    return int(np.sum(counts == 2))


def track_markers(seq_dir: Path, config: TrackConfig, seed: int, work: Path) -> dict:
    """(a) on one sequence: track the shuffled GT markers, score DET / TRA."""
    seq = CTCSequence(seq_dir)
    if seq.gt is None or seq.gt.tracks is None:
        raise SystemExit(f"{seq_dir}: no ground truth with TRA markers")
    rng = np.random.default_rng(seed)
    labels = [shuffle_ids(seq.gt.tra(t), rng) for t in seq.frames]
    images = [seq.image(t) for t in seq.frames]
    start = time.perf_counter()
    result = track(labels, images, config, first_frame=seq.frames[0])
    seconds = time.perf_counter() - start
    res_dir = work / f"{seq.dataset_dir.name}_{seq.name}_RES"
    write_tracking(res_dir, result, labels)
    scores = ctc_tracking_scores(res_dir, seq.gt.path, ("det", "tra"))
    return {"dataset": seq.dataset_dir.name, "part": "a", "frames": len(seq),
            "objects": int(sum(len(f) for f in result.features)),
            "gt_tracks": int(len(seq.gt.tracks)), "tracks": result.n_tracks,
            "gt_divisions": n_divisions(seq.gt.tracks), "divisions": result.n_divisions,
            "gaps_closed": result.n_gaps_closed, "track_s": round(seconds, 2),
            **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in scores.items()}}


def track_timelapse(name: str, folder: Path, config: TrackConfig, work: Path) -> dict:
    """(a) on an automatic segmentation without GT: counts and run time."""
    labels = read_labels(folder / f"{name}_ERR_SEG.tif")
    images = read_array(folder / f"{name}_img.tif")
    spacing = TIMELAPSE[name]
    config = dataclasses.replace(config, spacing=spacing)
    start = time.perf_counter()
    result = track(labels, images, config)
    seconds = time.perf_counter() - start
    write_tracking(work / f"{name}_RES", result, labels)
    counts = [len(f) for f in result.features]
    return {"dataset": name, "part": "a", "frames": len(labels),
            "shape": list(labels.shape[1:]), "spacing": spacing, "objects": int(sum(counts)),
            "objects_per_frame": [min(counts), max(counts)], "tracks": result.n_tracks,
            "divisions": result.n_divisions, "gaps_closed": result.n_gaps_closed,
            "track_s": round(seconds, 2)}


def segment_and_track(seq_dir: Path, frames: tuple[int, int], predictor, config: TrackConfig,
                      work: Path, tta: str = "none", diameter: float | str | None = None
                      ) -> dict:
    """(b) on one sequence: segment frames [first, stop), track, SEG / DET / TRA there."""
    from microseg.pipelines.cells import segment

    seq = CTCSequence(seq_dir)
    first, stop = frames
    chosen = [t for t in seq.frames if first <= t < stop]
    if not chosen or seq.gt is None or seq.gt.tracks is None:
        raise SystemExit(f"{seq_dir}: no ground truth frames in {first}:{stop}")
    extremes = [(float(im.min()), float(im.max())) for im in map(seq.image, seq.frames)]
    intensity_range = (min(e[0] for e in extremes), max(e[1] for e in extremes))
    images = [seq.image(t) for t in chosen]
    start = time.perf_counter()
    labels = [segment(im, predictor, intensity_range=intensity_range, tta=tta, diameter=diameter)
              for im in images]
    segment_s = time.perf_counter() - start
    start = time.perf_counter()
    result = track(labels, images, config)
    track_s = time.perf_counter() - start
    dataset = work / f"{seq.dataset_dir.name}_held_out_{tta}"
    gt = seq.gt
    tracks = clip_tracks(gt.tracks, chosen[0], chosen[-1])
    tracks[:, 1:3] -= chosen[0]
    write_ctc_sequence(
        dataset, "01", images,
        seg={t - chosen[0]: gt.seg(t) for t in gt.full_seg_frames if t in chosen},
        tra={t - chosen[0]: gt.tra(t) for t in chosen}, tracks=tracks,
        seg_slices={t - chosen[0]: gt.seg_slices(t) for t in gt.seg_frames
                    if t in chosen and gt.slice_indices(t)})
    write_tracking(dataset / "01_RES", result, labels)
    has_seg = any(t in chosen for t in gt.seg_frames)
    metrics = ("seg", "det", "tra") if has_seg else ("det", "tra")
    overall = evaluate_ctc(dataset / "01_RES", dataset / "01_GT", metrics).overall
    return {"dataset": seq.dataset_dir.name, "part": "b", "tta": tta, "frames": len(chosen),
            "evaluated_frames": f"{chosen[0]}-{chosen[-1]}",
            "seg_images": int(overall.get("n_images", 0)), "tracks": result.n_tracks,
            "gt_divisions": n_divisions(tracks), "divisions": result.n_divisions,
            **{m: round(float(overall[m]), 4) for m in metrics},
            "segment_s": round(segment_s, 1), "track_s": round(track_s, 2)}


def parse_frames(items: list[str]) -> dict[str, tuple[int, int]]:
    ranges = dict(HELD_OUT)
    for item in items:
        name, _, span = item.partition("=")
        first, _, stop = span.partition(":")
        if name not in DATASETS or not first.isdigit() or not stop.isdigit():
            raise SystemExit(f"--frames expects DATASET=FIRST:STOP with DATASET in {DATASETS}, "
                             f"got {item!r}")
        ranges[name] = (int(first), int(stop))
    return ranges


def print_table(rows: list[dict]) -> None:
    columns = ("dataset", "part", "tta", "frames", "objects", "tracks", "gt_tracks", "divisions",
               "gt_divisions", "seg", "det", "tra", "aogm", "track_s", "segment_s")
    shown = [c for c in columns if any(c in row for row in rows)]
    cells = [[str(row.get(c, "")) for c in shown] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(shown)]
    print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                    enumerate(zip(shown, widths))))
    for row in cells:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in
                        enumerate(zip(row, widths))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gap-closing", action="store_true", help="bridge one missing frame")
    parser.add_argument("--max-distance", type=float, help="gate (px; default automatic)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the id permutations")
    parser.add_argument("--segment", metavar="CHECKPOINT",
                        help="part (b): segment with this model, then track (SEG/DET/TRA)")
    parser.add_argument("--tta", nargs="+", default=["none"], choices=["none", "mean", "max"],
                        help="(b) test-time augmentation settings, one run each")
    parser.add_argument("--diameter", type=diameter_arg, metavar="PX|auto",
                        help="(b) object diameter given to segment (default: the model's scale)")
    parser.add_argument("--frames", action="append", default=[], metavar="DATASET=FIRST:STOP",
                        help="(b) frames evaluated per dataset (default: HELD_OUT)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS,
                        metavar="DATASET", help="CTC datasets to run (default: all)")
    parser.add_argument("--json", metavar="FILE", help="also write the JSON line to FILE")
    args = parser.parse_args()
    root = data_root()
    config = TrackConfig(max_distance=args.max_distance, gap_closing=args.gap_closing)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.datasets:
            seq_dir = root / "ctc" / name / "01"
            if seq_dir.is_dir():
                rows.append(track_markers(seq_dir, config, args.seed, work))
        for name in TIMELAPSE:
            if (root / "timelapse" / f"{name}_ERR_SEG.tif").is_file():
                rows.append(track_timelapse(name, root / "timelapse", config, work))
        if args.segment:
            from microseg.pipelines.model import load_model

            predictor = load_model(args.segment)
            ranges = parse_frames(args.frames)
            for name in args.datasets:
                seq_dir = root / "ctc" / name / "01"
                for tta in args.tta if seq_dir.is_dir() else ():
                    rows.append(segment_and_track(seq_dir, ranges[name], predictor, config,
                                                  work, tta, args.diameter))
    print_table(rows)
    line = json.dumps({"benchmark": "ctc", "data": str(root), "config": dataclasses.asdict(config),
                       "segment": args.segment, "rows": rows})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
