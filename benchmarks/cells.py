"""Whole cells on label-free and whole-cell fluorescence images (issue 32): the held-out images of
the three whole-cell sets, each reported on its own, scored as in the Mesmer seed paper.

    python benchmarks/cells.py [--model cells|default|CKPT ...] [--peer-labels NAME=DIR ...]
                               [--tta none] [--degrade KIND LEVEL] [--json FILE]

Sets (frames / images no bundled model trained on; ``configs/cells_model.yaml`` trains on the
rest):

* ``usiigaci`` — phase contrast, the authors' 5 ``val`` fields (complete manual labels).
* ``DIC-C2DH-HeLa`` — DIC, CTC sequence 01 frames 60–83 against the challenge's **silver truth**
  (a consensus of top methods, not manual annotation).
* ``Fluo-C2DL-MSC`` — whole-cell fluorescence, CTC sequence 01 frames 35–47 with gold SEG.

Each image (degraded first with ``--degrade KIND LEVEL``: other scales, less signal, uneven
illumination, … as ``benchmarks/generalization.py degrade``) is segmented as a user runs it
(no flags but ``--tta``), and scored: F1@0.5, the mean
F1 over IoU 0.50:0.05:0.95 (Mesmer / LIVECell), mean AP, CTC SEG and the DeepCell error types
(missed, spurious, merged, split, catastrophe), summed over the set's objects; throughput in
megapixels per second of ``segment`` (whole pipeline, one image at a time). ``--peer-labels
NAME=DIR`` scores a peer's labels ``DIR/<set>/<image>.tif`` of the same images beside ours
(Cellpose: ``benchmarks/peers/cellpose_cells.py``). Prints a table and one JSON line. Data root:
``$MICROSEG_DATA`` (default ``../shared/data``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from dsb2018 import data_root
from microseg.io.ctc import CTCSequence
from microseg.io.images import read_array, read_labels
from microseg.data.degrade import IDENTITY, KINDS, degrade
from microseg.malloc import reexec_with_tuned_malloc
from microseg.metrics import evaluate_arrays
from microseg.pipelines.cells import segment
from microseg.pipelines.model import load_model

#: (set, CTC dataset or None, truth, held-out frames) — the validation ranges of cells_model.yaml.
SETS = {
    "usiigaci": (None, None, None),
    "DIC-C2DH-HeLa": ("ctc/DIC-C2DH-HeLa/01", "silver", range(60, 84)),
    "Fluo-C2DL-MSC": ("ctc/Fluo-C2DL-MSC/01", "gt", range(35, 48)),
}
METRICS = ("f1", "ap", "seg", "errors")
COLUMNS = ("f1", "f1_mean", "map", "seg", "missed", "spurious", "merged", "split", "catastrophe")


def held_out(set_name: str) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(image name, image as read, labels) of a set's held-out images."""
    root = data_root()
    sequence, truth, frames = SETS[set_name]
    if sequence is None:
        folder = root / "usiigaci"
        for name in (folder / "val.txt").read_text(encoding="utf-8").split():
            yield name, read_array(folder / "images" / f"{name}.png"), \
                read_labels(folder / "labels" / f"{name}.tif")
        return
    seq = CTCSequence(root / sequence)
    annotation = seq.gt if truth == "gt" else seq.silver
    for t in annotation.full_seg_frames:
        if t in frames:
            frame = seq.frame(t, truth)
            yield f"t{t:03d}", frame.image, frame.seg


def degraded(item: tuple[str, np.ndarray, np.ndarray], index: int, kind: str, level: float
             ) -> tuple[str, np.ndarray, np.ndarray]:
    """``(name, image, labels)`` after :func:`microseg.data.degrade.degrade` (seeded by the
    image's index, as ``benchmarks/generalization.py degrade`` does)."""
    if level == IDENTITY[kind]:
        return item
    name, image, labels = item
    rng = np.random.default_rng([index, KINDS.index(kind), int(level * 1000)])
    return (name, *degrade(image, labels, kind, level, rng))


def score(triples: list[tuple[str, np.ndarray, np.ndarray]]) -> dict:
    overall = evaluate_arrays(triples, METRICS).overall
    return {key: overall[key] for key in COLUMNS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["cells", "default"],
                        help="bundled names or checkpoints, each scored")
    parser.add_argument("--peer-labels", nargs="*", default=[], metavar="NAME=DIR")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--tta", default=None, help="none | mean | max (default: the model's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--degrade", nargs=2, metavar=("KIND", "LEVEL"),
                        default=["scale", "1"],
                        help=f"degrade every image first (microseg.data.degrade: one of "
                             f"{', '.join(KINDS)}), e.g. scale 0.5 or signal 0.25")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    peers = dict(item.split("=", 1) for item in args.peer_labels)
    reexec_with_tuned_malloc([sys.executable, *sys.argv])
    torch.set_num_threads(args.threads)
    rows = []
    for set_name in args.sets:
        kind, level = args.degrade[0], float(args.degrade[1])
        items = [degraded(item, k, kind, level) for k, item in enumerate(held_out(set_name))]
        for model in args.model:
            predictor = load_model(model, threads=args.threads)
            triples, seconds, pixels = [], 0.0, 0
            for name, image, labels in items:
                start = time.perf_counter()
                predicted = segment(image, predictor, tta=args.tta)
                seconds += time.perf_counter() - start
                pixels += labels.size
                triples.append((name, labels, predicted))
            rows.append({"set": set_name, "method": model, "images": len(items),
                         **score(triples), "mp_per_s": pixels / 1e6 / seconds})
        for peer, folder in peers.items():
            triples = [(name, labels, read_labels(Path(folder) / set_name / f"{name}.tif"))
                       for name, _, labels in items]
            rows.append({"set": set_name, "method": peer, "images": len(items),
                         **score(triples), "mp_per_s": None})
    header = f"{'set':<15} {'method':<14} {'n':>3} " + " ".join(f"{c:>8}" for c in COLUMNS)
    print(header + f" {'MP/s':>6}")
    for row in rows:
        speed = "" if row["mp_per_s"] is None else f"{row['mp_per_s']:6.2f}"
        print(f"{row['set']:<15} {row['method'][-14:]:<14} {row['images']:>3} "
              + " ".join(f"{row[c]:8.4f}" if isinstance(row[c], float) else f"{row[c]:>8}"
                         for c in COLUMNS) + f" {speed:>6}")
    line = json.dumps({"benchmark": "cells", "tta": args.tta, "degrade": args.degrade, "rows": rows})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
