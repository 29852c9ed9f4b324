"""Train a U-Net (3-class target) on the DSB 2018 nuclei within a time budget, then score it.

    python benchmarks/train_dsb.py [--minutes 60] [--out ~/microseg-runs/train_dsb]

Data: ``$MICROSEG_DATA/dsb2018`` (default ``../shared/data``), the fixed ``train`` ids for
training and the ``val`` ids for model selection and the reported scores. A fresh run first
times a few iterations to fit the cosine schedule into the budget; the run folder keeps
``last.pt``, so calling the script again resumes the same run (same schedule) where it stopped.

After training, the post-processing (minimum object size, growing into boundary pixels) is chosen
on the ``val`` ids and stored in ``best.pt``. Reports, on the ``val`` ids: F1 at IoU 0.5, mean AP
over IoU 0.5:0.95 (TP / (TP + FP + FN)), foreground pixel IoU, and the training throughput
(images/s); a table, then one JSON line.
Target: F1@0.5 >= 0.80.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

from microseg.models.checkpoint import read_checkpoint
from microseg.train import Trainer, load_datasets, train, train_config

TARGET_F1 = 0.80
TUNE = {"min_size": [10, 20, 30, 45, 60], "grow": [True, False]}  # post-processing grid, on val


def config_dict(args: argparse.Namespace, iterations: int) -> dict:
    """The training configuration (see configs/dsb2018_unet.yaml for the same in YAML)."""
    return {
        "data": {"root": args.data, "sources": [{
            "kind": "folder", "name": "dsb2018", "images": "dsb2018/images",
            "labels": "dsb2018/labels",
            "ids": {"train": "dsb2018/train.txt", "val": "dsb2018/val.txt"},
            "channels": 1, "normalize": "percentile", "percentiles": [1.0, 99.8]}]},
        "target": {"name": "three_class"},
        "augment": {"flip": True, "rot90": True,
                    "intensity": {"p": 0.5, "gamma": [0.7, 1.5], "scale": [0.8, 1.2],
                                  "shift": [-0.1, 0.1], "noise": 0.02}},
        "model": {"name": "unet", "config": {"depth": args.depth, "base_channels": args.base,
                                             "norm": "batch"}},
        "loss": {"name": "weighted_ce"},
        "optimizer": {"name": "adam", "lr": args.lr, "weight_decay": 0.0},
        "schedule": {"name": "cosine", "lr_min": args.lr / 100},
        "iterations": iterations,
        "batch_size": args.batch,
        "crop": args.crop,
        "validation": {"every": max(1, iterations // args.validations), "metric": "f1",
                       "tune": TUNE},
        "seed": args.seed,
        "threads": args.threads or os.cpu_count(),
        "channels_last": True,
        "log_every": 10,
        "output": str(args.out),
    }


def calibrate(args: argparse.Namespace, datasets, budget: float) -> int:
    """Iterations that fit in ``budget`` seconds, from a few timed steps; 8 % of the budget
    (and 20 s) are left for the validations during training."""
    probe = train_config(config_dict(args, iterations=10**6))
    trainer = Trainer(probe, args.out / "calibration", datasets)
    trainer.run(stop_at=2, progress=False)  # warm-up
    start = time.monotonic()
    trainer.run(stop_at=6, progress=False)
    per_step = (time.monotonic() - start) / 4
    shutil.rmtree(args.out / "calibration", ignore_errors=True)
    iterations = max(10, int((0.92 * budget - 20.0) / per_step))
    print(f"calibration: {per_step:.2f} s/iteration -> {iterations} iterations", flush=True)
    return iterations


def throughput(log: Path) -> float:
    """Mean training images/s over the logged windows (validation time excluded)."""
    with log.open() as handle:
        values = [float(r["images_per_s"]) for r in csv.DictReader(handle) if r["images_per_s"]]
    return sum(values) / len(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="training budget (default 60)")
    parser.add_argument("--out", type=Path, default=Path("~/microseg-runs/train_dsb"),
                        help="run folder, outside the repository (resumed when it holds last.pt)")
    parser.add_argument("--data", default=os.environ.get("MICROSEG_DATA", "../shared/data"),
                        help="data root holding dsb2018/ (default $MICROSEG_DATA or "
                             "../shared/data)")
    parser.add_argument("--base", type=int, default=16, help="U-Net width at full resolution")
    parser.add_argument("--depth", type=int, default=4, help="U-Net resolution levels")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--iterations", type=int, default=None,
                        help="fix the schedule length instead of timing a few steps (useful when "
                             "the machine is busy at the start)")
    parser.add_argument("--validations", type=int, default=4, help="validations during training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    args = parser.parse_args(argv)
    args.out = args.out.expanduser()
    budget = 60.0 * args.minutes
    started = time.monotonic()

    last = args.out / "last.pt"
    resume = last if last.is_file() else None
    if resume is not None:  # continue the stored run exactly (its model, schedule and data)
        config = train_config(read_checkpoint(resume)["meta"].training["config"])
        print(f"resuming {resume} at {config.iterations} iterations in total", flush=True)
    else:
        config = train_config(config_dict(args, iterations=10**6))
    datasets = load_datasets(config)
    print(f"data: {len(datasets.train[0])} train / {len(datasets.val[0])} val images "
          f"({time.monotonic() - started:.0f} s to load)", flush=True)
    if resume is None:
        iterations = args.iterations or calibrate(args, datasets,
                                                  budget - (time.monotonic() - started))
        config = train_config(config_dict(args, iterations))
    remaining = budget - (time.monotonic() - started)
    result = train(config, out=args.out, datasets=datasets, resume=resume,
                   time_limit=max(remaining, 0.0), progress=sys.stderr.isatty())
    trained_minutes = (time.monotonic() - started) / 60

    chosen = result.best or result.last
    meta = read_checkpoint(chosen)["meta"]
    scores = meta.metrics  # on every val image, with the post-processing tuned on them
    report = {
        "benchmark": "train_dsb",
        "checkpoint": str(chosen),
        "iteration": result.iteration,
        "total_iterations": result.total,
        "stopped": result.stopped,
        "minutes": round(trained_minutes, 2),
        "val_images": len(datasets.val[0]),
        "f1@0.5": scores["f1"],
        "precision@0.5": scores["precision"],
        "recall@0.5": scores["recall"],
        "map@0.5:0.95": scores["ap"],
        "pixel_iou": scores["iou"],
        "seg": scores["seg"],
        "train_images_per_s": throughput(args.out / "log.csv"),
        "model": {"arch": meta.arch, "base_channels": meta.config["base_channels"],
                  "depth": meta.config["depth"]},
        "post": meta.post,
        "target_f1": TARGET_F1,
        "passed": bool(scores["f1"] >= TARGET_F1),
    }
    width = max(len(k) for k in report)
    for key in ("checkpoint", "iteration", "total_iterations", "stopped", "minutes", "val_images",
                "f1@0.5", "precision@0.5", "recall@0.5", "map@0.5:0.95", "pixel_iou", "seg",
                "train_images_per_s", "passed"):
        value = report[key]
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {text}")
    print(json.dumps({k: None if isinstance(v, float) and math.isnan(v) else v
                      for k, v in report.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
