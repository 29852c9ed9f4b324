"""Slice-wise 3D segmentation by a 2D network, with and without Context Aware Pseudocoloring.

    python benchmarks/segment_3d.py [--iterations 400] [--threads 2] [--out runs/segment_3d]
    python benchmarks/segment_3d.py --pseudocolor-model A.pt --plain-model B.pt   # no training

Two small 2D U-Nets (base 8, depth 4, XB-Net 3-class target, weighted CE) are trained briefly
on the CPU with ``microseg.train`` on the slices of synthetic ``nuclei3d`` volumes: one on
pseudocoloured slices (3 channels: context of z − 1, slice z, context of z + 1; EfficientCellSeg
§2.2), one on the plain slice (1 channel). Both segment held-out synthetic volumes and the real
``$MICROSEG_DATA/samples/nuclei3d`` stack slice by slice, and the per-slice maps become 3D
instances either by 3D post-processing of the stacked maps (``stack``) or by 2D post-processing
and IoU linking of slices (``stitch``). Reported: CTC SEG against the 3D labels. The real
sample's labels are automatic (napari sample data), not ground truth: treat those figures as
agreement with another method. The real stack is rescaled by the ratio of object diameters
(median 2D equivalent diameter of label slices, training / sample).

Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from microseg.data import synthetic
from microseg.data.rescale import median_diameter
from microseg.data.sample import Sample
from microseg.infer.predictor import Predictor
from microseg.io.images import read_array, read_labels
from microseg.metrics import seg_score
from microseg.preprocess.normalize import normalize_percentile
from microseg.preprocess.pseudocolor import context_pseudocolor
from microseg.pipelines.cells import segment
from microseg.train import Datasets, train, train_config

VOLUME = dict(shape=(32, 128, 128), diameter=20.0, anisotropy=1.5, coverage=0.15)
VARIANTS = ("pseudocolor", "plain")


def volumes(seed: int, n: int) -> list[synthetic.Synthetic]:
    return [synthetic.generate("nuclei3d", seed=seed + i, **VOLUME) for i in range(n)]


def slice_samples(vols: list, variant: str, name: str) -> list[Sample]:
    """2D samples of every slice holding an object: pseudocoloured or plain (the stack
    normalised as a whole, as the predictor does)."""
    samples = []
    for v, vol in enumerate(vols):
        if variant == "pseudocolor":
            planes = context_pseudocolor(vol.image)                       # (Z, 3, Y, X)
        else:
            planes = normalize_percentile(vol.image.astype(np.float32))[:, None]
        for z, labels in enumerate(vol.labels):
            if labels.any():
                samples.append(Sample(np.ascontiguousarray(planes[z], dtype=np.float32), labels,
                                      name=f"{name}{v}_z{z}", group=f"{name}{v}"))
    return samples


def train_variant(variant: str, train_vols: list, val_vols: list, diameter: float,
                  iterations: int, threads: int, out: Path) -> Path:
    channels = 3 if variant == "pseudocolor" else 1
    config = train_config({
        "data": {"sources": [{"kind": "folder", "name": "nuclei3d", "images": "synthetic",
                              "labels": "synthetic", "channels": channels,
                              "diameter": diameter}]},
        "target": {"name": "three_class"},
        "model": {"name": "unet", "config": {"depth": 4, "base_channels": 8}},
        "loss": {"name": "weighted_ce"},
        "optimizer": {"name": "adam", "lr": 1e-3, "weight_decay": 0.0},
        "schedule": {"name": "cosine", "lr_min": 1e-5},
        "iterations": iterations, "batch_size": 8, "crop": 80,
        "validation": {"every": max(1, iterations // 4), "metric": "seg", "max_images": 40},
        "threads": threads, "channels_last": True, "log_every": 50, "seed": 0,
    })
    data = Datasets(["nuclei3d"], [slice_samples(train_vols, variant, "train")],
                    [slice_samples(val_vols, variant, "val")], ["nuclei3d"])
    result = train(config, out=out / variant, datasets=data, progress=False)
    return result.best or result.last


def evaluate(predictor: Predictor, z_context: str, stacks: list[tuple[np.ndarray, np.ndarray]],
             diameter: float | None) -> dict[str, float]:
    scores = {}
    for mode in ("stack", "stitch"):
        values = [seg_score(gt, segment(image, predictor, z_context=z_context, instances3d=mode,
                                        diameter=diameter)) for image, gt in stacks]
        scores[mode] = float(np.mean(values))
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=400, help="training steps per model")
    parser.add_argument("--train-volumes", type=int, default=8)
    parser.add_argument("--test-volumes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="runs/segment_3d", help="training output folder")
    parser.add_argument("--pseudocolor-model", help="use this trained 3-channel checkpoint")
    parser.add_argument("--plain-model", help="use this trained 1-channel checkpoint")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.time()
    train_vols, val_vols = volumes(0, args.train_volumes), volumes(1000, 2)
    test = [(v.image, v.labels) for v in volumes(2000, args.test_volumes)]
    diameter = median_diameter([plane for v in train_vols for plane in v.labels if plane.any()])
    root = Path(os.environ.get("MICROSEG_DATA", "../shared/data")) / "samples" / "nuclei3d"
    real = [(read_array(root / "nuclei.tif"), read_labels(root / "nuclei_label.tif"))]
    real_diameter = median_diameter([plane for plane in real[0][1] if plane.any()])
    given = {"pseudocolor": args.pseudocolor_model, "plain": args.plain_model}
    results = []
    for variant in VARIANTS:
        checkpoint = given[variant] or train_variant(variant, train_vols, val_vols, diameter,
                                                     args.iterations, args.threads,
                                                     Path(args.out))
        z_context = "pseudocolor" if variant == "pseudocolor" else "none"
        predictor = Predictor(checkpoint, threads=args.threads, tile=256)
        for data, stacks, scale in (("synthetic", test, None), ("nuclei3d sample", real,
                                                                real_diameter)):
            scores = evaluate(predictor, z_context, stacks, scale)
            results.append({"variant": variant, "data": data, "checkpoint": str(checkpoint),
                            "seg_stack": scores["stack"], "seg_stitch": scores["stitch"]})
            print(f"{variant:<12} {data:<16} SEG stack {scores['stack']:.3f}  stitch "
                  f"{scores['stitch']:.3f}", flush=True)
    print(f"\n{'z context':<12} {'data':<16} {'SEG (stack)':>12} {'SEG (stitch)':>13}")
    for r in results:
        print(f"{r['variant']:<12} {r['data']:<16} {r['seg_stack']:>12.3f} "
              f"{r['seg_stitch']:>13.3f}")
    print(json.dumps({"benchmark": "segment_3d", "iterations": args.iterations,
                      "train_volumes": args.train_volumes, "test_volumes": args.test_volumes,
                      "volume": {k: list(v) if isinstance(v, tuple) else v
                                 for k, v in VOLUME.items()},
                      "training_diameter": diameter, "sample_diameter": real_diameter,
                      "minutes": (time.time() - started) / 60, "results": results}))


if __name__ == "__main__":
    main()
