"""End-to-end segmentation throughput on the CPU (TIFF read → labels TIFF and CSV written).

Each input goes TIFF read → maps → labels → labels TIFF and measurement CSV written (the
issue's end-to-end figure), then the overlay PNG (timed apart), with PyTorch and with ONNX
Runtime.

    python benchmarks/speed.py [--threads 2] [--models unet xbnet] [--backends torch onnxruntime]
                               [--cases sparse dense stack] [--checkpoint CKPT|NAME] [--slices 64]
                               [--precisions float32 bfloat16] [--repeats 3]
                               [--no-malloc-tuning]

Like the ``microseg`` command, the script re-executes itself once with glibc's allocator tuned
for large tensors (:mod:`microseg.malloc`); ``--no-malloc-tuning`` measures without.

Inputs (synthetic, written to a temporary TIFF first): ``sparse`` and ``dense`` — a 2048×2048
``nuclei2d`` image at 8 % and 45 % coverage; ``stack`` — a 64×512×512 ``nuclei3d`` stack,
segmented slice by slice (no z context; the predictor's default tiles). Models: ``unet`` (base
16, depth 4) and the ``xbnet`` preset with **untrained weights** (the network's speed does not
depend on them), or a trained checkpoint with ``--checkpoint``. Each row (after a warm-up on a
small image) is the median of ``--repeats`` runs (by end-to-end time; one run varies by ±15 % here):
read, network (normalise, tile, predict, blend), post-processing, writing (labels,
measurements; overlay apart), in megapixels (voxels) per second.

Untrained maps make post-processing time meaningless, so a second table times post-processing
(``three_class``; per slice + stitching for the stack) and measurement on *oracle* maps — the
one-hot XB-Net target of the ground truth, i.e. what a perfect model would predict — for each
input, with the CTC SEG of the result. ``--precisions float32 bfloat16`` also times the torch
backend in bfloat16 (backend column ``torch-bf16``). Prints both tables and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from microseg import models
from microseg.data import synthetic
from microseg.infer.predictor import Predictor
from microseg.post.stitch3d import stitch_slices
from microseg.io.images import read_array, write_image, write_labels
from microseg.io.overlay import write_overlay
from microseg.malloc import reexec_with_tuned_malloc
from microseg.measure import measure, write_measurements_csv
from microseg.metrics import seg_score
from microseg.post.registry import postprocess
from microseg.pipelines.cells import maps_to_labels
from microseg.pipelines.model import load_model
from microseg.targets import build as build_target

MODELS = {"unet": dict(base_channels=16, depth=4, out_channels=3), "xbnet": {}}
META = {"target": {"name": "three_class"}, "post": {"name": "three_class", "params": {}}}
CASES = {"sparse": ("nuclei2d", dict(shape=(2048, 2048), coverage=0.08)),
         "dense": ("nuclei2d", dict(shape=(2048, 2048), coverage=0.45)),
         "stack": ("nuclei3d", dict(shape=(64, 512, 512)))}


def make_inputs(cases: list[str], slices: int, folder: Path) -> dict[str, tuple[Path, np.ndarray]]:
    """Write each case's synthetic image as TIFF → case → (path, ground-truth labels)."""
    out = {}
    for case in cases:
        kind, params = CASES[case]
        if case == "stack":
            params = {**params, "shape": (slices, *params["shape"][1:])}
        sample = synthetic.generate(kind, seed=0, **params)
        path = folder / f"{case}.tif"
        write_image(path, sample.image)
        out[case] = (path, sample.labels)
    return out


def predictors(args: argparse.Namespace) -> list[tuple[str, str, Predictor]]:
    found = []
    runs = [(b, p) for b in args.backends for p in args.precisions
            if b == "torch" or p == "float32"]
    for backend, precision in runs:
        label = backend if precision == "float32" else f"{backend}-bf16"
        options = {"backend": backend, "threads": args.threads, "precision": precision}
        if args.checkpoint:
            found.append((Path(args.checkpoint).stem, label,
                          load_model(args.checkpoint, **options)))
            continue
        for name in args.models:
            torch.manual_seed(0)
            model = models.build(name, **MODELS[name]).eval()
            found.append((name, label, Predictor(model, meta=META, **options)))
    return found


def end_to_end(predictor: Predictor, path: Path, out: Path) -> dict[str, float]:
    """Seconds per stage of one input."""
    times = {}
    start = time.perf_counter()
    image = read_array(path)
    times["read"] = time.perf_counter() - start
    start = time.perf_counter()
    prediction = predictor.prediction(image)
    times["network"] = time.perf_counter() - start
    start = time.perf_counter()
    labels = maps_to_labels(prediction.maps, predictor, slicewise=predictor.mode(image) == "slices",
                            bright_background=prediction.bright_background)
    times["post"] = time.perf_counter() - start
    start = time.perf_counter()
    write_labels(out / f"{path.stem}_labels.tif", labels)
    write_measurements_csv(out / f"{path.stem}.csv", measure(labels, image))
    times["write"] = time.perf_counter() - start
    start = time.perf_counter()
    write_overlay(out / f"{path.stem}_overlay.png", image, labels)
    times["overlay"] = time.perf_counter() - start
    times["objects"] = int(labels.max())
    return times


def oracle_post(labels: np.ndarray, image: np.ndarray) -> dict[str, float]:
    """Post-processing and measurement time on the one-hot 3-class target of ``labels`` (a stack
    as a 2D model sees it: per-slice targets, post-processed per slice and stitched)."""
    target = build_target("three_class", dilation=2, in_plane=labels.ndim == 3)(labels)
    probs = (np.arange(3)[:, None] == target.reshape(1, -1)).reshape((3,) + labels.shape)
    probs = probs.astype(np.float32)
    start = time.perf_counter()
    if labels.ndim == 3:
        found = stitch_slices(np.stack([postprocess("three_class", probs[:, z])
                                        for z in range(len(labels))]))
    else:
        found = postprocess("three_class", probs)
    post = time.perf_counter() - start
    start = time.perf_counter()
    measure(found, image)
    return {"post": post, "measure": time.perf_counter() - start,
            "objects_true": int(len(np.unique(labels)) - 1), "objects_found": int(found.max()),
            "seg": seg_score(labels, found)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"],
                        choices=["torch", "onnxruntime"])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--checkpoint", help="time this trained checkpoint (or bundled model "
                                             "name) instead")
    parser.add_argument("--slices", type=int, default=64, help="slices of the stack case")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs per input; the median run is reported")
    parser.add_argument("--precisions", nargs="+", default=["float32"],
                        choices=["float32", "bfloat16"], help="torch backend precisions")
    parser.add_argument("--no-malloc-tuning", action="store_true",
                        help="keep glibc's default allocator thresholds")
    args = parser.parse_args(argv)
    if not args.no_malloc_tuning:
        reexec_with_tuned_malloc([sys.executable, *sys.argv])
    torch.set_num_threads(args.threads)
    rows, oracle = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = make_inputs(args.cases, args.slices, folder)
        tiny = synthetic.generate("nuclei2d", seed=1, shape=(64, 64))
        oracle_post(tiny.labels, tiny.image)                              # compile numba code
        for case, (path, labels) in inputs.items():
            image = read_array(path)
            oracle.append({"case": case, "megapixels": labels.size / 1e6,
                           **oracle_post(labels, image)})
        for model, backend, predictor in predictors(args):
            predictor.predict(np.zeros((64, 64), np.float32))            # warm-up
            for case, (path, labels) in inputs.items():
                runs = [end_to_end(predictor, path, folder) for _ in range(args.repeats)]
                times = sorted(runs, key=_total)[len(runs) // 2]          # the median run
                mp = labels.size / 1e6
                total = _total(times)
                rows.append({"model": model, "backend": backend, "case": case,
                             "megapixels": mp, **times, "total": total,
                             "network_mp_s": mp / times["network"],
                             "post_mp_s": mp / times["post"], "end_to_end_mp_s": mp / total})
                print(_row(rows[-1]), flush=True)
    print()
    print(f"{'model':<8} {'backend':<12}{'case':<8}{'MP':>6}{'read':>7}{'network':>9}"
          f"{'post':>7}{'write':>7}{'overlay':>8}{'net MP/s':>10}{'post MP/s':>10}{'e2e MP/s':>10}")
    for row in rows:
        print(_row(row))
    print("\npost-processing (three_class) and measurement on oracle maps")
    print(f"{'case':<8}{'MP':>6}{'objects':>9}{'found':>7}{'SEG':>6}{'post s':>8}"
          f"{'post MP/s':>10}{'measure s':>10}")
    for o in oracle:
        print(f"{o['case']:<8}{o['megapixels']:>6.1f}{o['objects_true']:>9}"
              f"{o['objects_found']:>7}{o['seg']:>6.3f}{o['post']:>8.2f}"
              f"{o['megapixels'] / o['post']:>10.1f}{o['measure']:>10.2f}")
    print(json.dumps({"benchmark": "speed", "threads": args.threads, "untrained": not
                      args.checkpoint, "malloc_tuning": "glibc.malloc.mmap_threshold" in
                      os.environ.get("GLIBC_TUNABLES", ""), "end_to_end": rows, "oracle_post": oracle}))


def _total(times: dict[str, float]) -> float:
    """End-to-end seconds of one run (the overlay is timed apart)."""
    return sum(times[k] for k in ("read", "network", "post", "write"))


def _row(r: dict) -> str:
    return (f"{r['model']:<8} {r['backend']:<12}{r['case']:<8}{r['megapixels']:>6.1f}"
            f"{r['read']:>7.2f}{r['network']:>9.2f}{r['post']:>7.2f}{r['write']:>7.2f}"
            f"{r['overlay']:>8.2f}"
            f"{r['network_mp_s']:>10.2f}{r['post_mp_s']:>10.1f}{r['end_to_end_mp_s']:>10.2f}")


if __name__ == "__main__":
    main()
