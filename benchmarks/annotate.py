"""Prompt-based annotation on DSB 2018: objects from one point or one box per nucleus, against
the ground truth, beside what the model finds alone.

    python benchmarks/annotate.py [--model default] [--split val] [--jitter 0.1] [--json FILE]

For every image of the split (``$MICROSEG_DATA/dsb2018/<split>.txt``) and every annotated
nucleus, a simulated annotator gives

- ``points``: one click on the nucleus, at its pixel farthest from its edge, all clicks of an
  image at once (:meth:`microseg.annotate.PromptAnnotator.points`);
- ``boxes``: its bounding box, each side moved outwards by a random ``--jitter`` × the box's
  side (0 to that fraction; a hand-drawn box is seldom tight) (:meth:`~microseg.annotate.
  PromptAnnotator.boxes`);

and ``model`` is :func:`microseg.segment` with the model's defaults (prompts use the maps at the
model's scale, ``segment`` may rescale an image whose objects are outside its trained sizes).
Scores: precision, recall, F1 at IoU 0.5 and CTC SEG, counts summed over the images, for all
images and per modality (:func:`microseg.data.modality.guess_modality`), with the seconds each
way took. Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage as ndi
from skimage.segmentation import relabel_sequential
from tqdm import tqdm

from dsb2018 import data_root
from microseg.annotate import PromptAnnotator
from microseg.data.modality import MODALITIES, guess_modality
from microseg.io.images import read_image, read_labels
from microseg.malloc import reexec_with_tuned_malloc
from microseg.metrics import evaluate_arrays
from microseg.pipelines.cells import segment
from microseg.pipelines.model import load_model

WAYS = ("model", "points", "boxes")
COLUMNS = ("images", "n_true", "n_pred", "precision", "recall", "f1", "seg")


def prompts(truth: np.ndarray, jitter: float, rng: np.random.Generator
            ) -> tuple[list[tuple[int, int]], list[tuple[float, float, float, float]]]:
    """One click (the pixel farthest from the edge) and one box (jittered outwards) per
    nucleus of ``truth``."""
    points, boxes = [], []
    for label, box in enumerate(ndi.find_objects(truth), start=1):
        if box is None:
            continue
        mask = truth[box] == label
        distance = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        y, x = np.unravel_index(np.argmax(distance), mask.shape)
        points.append((box[0].start + y, box[1].start + x))
        (y0, y1), (x0, x1) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
        grow = rng.uniform(0, jitter, 4) * np.array([y1 - y0, x1 - x0, y1 - y0, x1 - x0])
        boxes.append((y0 - grow[0], x0 - grow[1], y1 + grow[2], x1 + grow[3]))
    return points, boxes


def run(model: str, split: str, jitter: float, seed: int, limit: int | None
        ) -> tuple[list[dict], dict[str, float]]:
    """Rows (per way: overall, then per modality) and the seconds each way took."""
    folder = data_root() / "dsb2018"
    ids = (folder / f"{split}.txt").read_text().split()[:limit]
    predictor = load_model(model)
    rng = np.random.default_rng(seed)
    results: dict[str, list] = {way: [] for way in WAYS}
    seconds = dict.fromkeys(WAYS, 0.0)
    for name in tqdm(ids, desc=f"annotate {split}", unit="image"):
        image = read_image(folder / "images" / f"{name}.png")
        truth = relabel_sequential(read_labels(folder / "labels" / f"{name}.tif"))[0]
        modality = guess_modality(image)
        points, boxes = prompts(truth, jitter, rng)
        start = time.perf_counter()
        found = {"model": segment(image, predictor)}
        seconds["model"] += time.perf_counter() - start
        annotator = PromptAnnotator(image, predictor)
        for way, call, given in (("points", annotator.points, points),
                                 ("boxes", annotator.boxes, boxes)):
            start = time.perf_counter()
            found[way] = call(given)
            seconds[way] += time.perf_counter() - start
        for way in WAYS:
            results[way].append((modality, name, truth, found[way]))
    rows = []
    for way in WAYS:
        for group in ("all", *MODALITIES):
            chosen = [(n, g, p) for m, n, g, p in results[way] if group in ("all", m)]
            if chosen:
                overall = evaluate_arrays(chosen, "seg,f1").overall
                rows.append({"way": way, "modality": group, "images": len(chosen),
                             **{c: overall.get(c) for c in COLUMNS[1:]}})
    return rows, {k: round(v, 1) for k, v in seconds.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="bundled model name or checkpoint")
    parser.add_argument("--split", default="val")
    parser.add_argument("--jitter", type=float, default=0.1,
                        help="boxes: each side moved out by up to this fraction (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the box jitter")
    parser.add_argument("--limit", type=int, help="first N images of the split only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", metavar="FILE", help="also write the JSON line to FILE")
    args = parser.parse_args(argv)
    reexec_with_tuned_malloc([sys.executable, *sys.argv])
    torch.set_num_threads(args.threads)
    rows, seconds = run(args.model, args.split, args.jitter, args.seed, args.limit)
    header = ("way", "modality") + COLUMNS
    print("  ".join(f"{h:>12}" for h in header))
    for row in rows:
        print("  ".join(f"{row[h]:>12.4f}" if isinstance(row[h], float) else f"{row[h]!s:>12}"
                        for h in header))
    line = json.dumps({"benchmark": "annotate", "model": args.model, "split": args.split,
                       "jitter": args.jitter, "seconds": seconds, "rows": rows})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
