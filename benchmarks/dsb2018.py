"""Accuracy of a 2D nuclei model on the DSB 2018 ``val`` ids, overall and per imaging modality.

    python benchmarks/dsb2018.py --model default|CKPT [--tta none mean] [--split val]
                                 [--diameter PX|auto] [--zoom F] [--threads 2]
                                 [--precision float32|bfloat16] [--json FILE]

Every image of the split (``$MICROSEG_DATA/dsb2018/<split>.txt``; data root default
``../shared/data``) is segmented with :func:`microseg.pipelines.cells.segment` (the model's own normalisation
and post-processing) and scored against its labels: precision, recall and F1 at IoU 0.5, AP at
0.5 / 0.75 and mean AP over IoU 0.5:0.05:0.95 (TP / (TP + FP + FN), counts summed over the
images), CTC SEG and pixel IoU, for all images and per modality (fluorescence, bright-field,
H&E-like; guessed from the pixels by :func:`microseg.data.modality.guess_modality`: 54 / 2 / 10
of the 66 ``val`` ids). ``--zoom F`` resamples every image and its labels by ``F`` first
(:func:`microseg.data.rescale.rescale_sample`), to see how a model copes with objects at another
scale than in training (and what ``--diameter auto`` recovers). Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from microseg.cli import diameter_arg
from microseg.data.modality import MODALITIES, guess_modality
from microseg.data.rescale import rescale_sample
from microseg.data.sample import Sample
from microseg.io.images import read_array, read_labels
from microseg.malloc import reexec_with_tuned_malloc
from microseg.metrics.evaluate import evaluate_arrays
from microseg.pipelines.cells import segment
from microseg.pipelines.model import load_model

REPO = Path(__file__).resolve().parents[1]
METRICS = ("f1", "ap", "seg", "iou")
COLUMNS = ("images", "n_true", "precision", "recall", "f1", "ap50", "ap75", "map", "seg",
           "pixel_iou")


def data_root() -> Path:
    return Path(os.environ.get("MICROSEG_DATA", REPO.parent / "shared" / "data"))


def zoomed(image: np.ndarray, labels: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` ``(Y, X[, C])`` and ``labels`` ``(Y, X)`` resampled by ``zoom``, dtypes kept."""
    if zoom == 1:
        return image, labels
    channels = image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0)
    sample = rescale_sample(Sample(image=channels.astype(np.float32), labels=labels,
                                   name="zoomed"), zoom)
    out = sample.image[0] if image.ndim == 2 else np.moveaxis(sample.image, 0, -1)
    if np.issubdtype(image.dtype, np.integer):
        limits = np.iinfo(image.dtype)
        out = np.clip(np.rint(out), limits.min, limits.max)
    return out.astype(image.dtype), sample.labels


def evaluate(model: str, split: str, tta: str, threads: int, precision: str = "float32",
             diameter: float | str | None = None, zoom: float = 1.0
             ) -> tuple[list[dict], float]:
    """Rows (overall, then per modality) and the seconds spent segmenting."""
    folder = data_root() / "dsb2018"
    ids = (folder / f"{split}.txt").read_text().split()
    predictor = load_model(model, threads=threads, precision=precision)
    triples, seconds = [], 0.0
    for name in tqdm(ids, desc=f"dsb2018 {split} tta={tta}", unit="image"):
        image = read_array(folder / "images" / f"{name}.png")
        modality = guess_modality(image)
        image, truth = zoomed(image, read_labels(folder / "labels" / f"{name}.tif"), zoom)
        start = time.perf_counter()
        labels = segment(image, predictor, tta=tta, diameter=diameter)
        seconds += time.perf_counter() - start
        triples.append((modality, name, truth, labels))
    rows = []
    for group in ("all", *MODALITIES):
        chosen = [(n, g, p) for m, n, g, p in triples if group in ("all", m)]
        if not chosen:
            continue
        overall = evaluate_arrays(chosen, METRICS).overall
        rows.append({"tta": tta, "modality": group, "images": len(chosen),
                     **{c: overall.get(c) for c in COLUMNS[1:]}})
    return rows, seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="bundled model name or checkpoint")
    parser.add_argument("--tta", nargs="+", default=["none"], choices=["none", "mean", "max"])
    parser.add_argument("--split", default="val")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                        help="network precision (torch backend)")
    parser.add_argument("--diameter", type=diameter_arg, metavar="PX|auto",
                        help="object diameter given to segment (default: the model's scale)")
    parser.add_argument("--zoom", type=float, default=1.0, metavar="F",
                        help="resample images and labels by F before segmenting (default 1)")
    parser.add_argument("--json", metavar="FILE", help="also write the JSON line to FILE")
    args = parser.parse_args(argv)
    reexec_with_tuned_malloc([sys.executable, *sys.argv])
    torch.set_num_threads(args.threads)
    rows, timing = [], {}
    for tta in args.tta:
        found, seconds = evaluate(args.model, args.split, tta, args.threads, args.precision,
                                  args.diameter, args.zoom)
        rows += found
        timing[tta] = round(seconds, 1)
    header = ("tta", "modality") + COLUMNS
    print("  ".join(f"{h:>12}" for h in header))
    for row in rows:
        print("  ".join(f"{row[h]:>12.4f}" if isinstance(row[h], float) else f"{row[h]!s:>12}"
                        for h in header))
    line = json.dumps({"benchmark": "dsb2018", "model": args.model, "split": args.split,
                       "precision": args.precision, "diameter": args.diameter, "zoom": args.zoom,
                       "segment_s": timing, "rows": rows})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
