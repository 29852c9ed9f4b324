"""ISBI 2012: one region graph through the stack (``graph.mode: 3d``) against one graph per
section (``2d``), scored per section as the challenge scores (issue 33).

    .venv/bin/python benchmarks/isbi2012_3d.py [--checkpoint em-membrane] [--train-slices 0:15] \\
        [--val-slices 15:20] [--graph-tta none] [--sampling 12.5 1 1] [--link-iou 0.3]

Both modes use the same boundary maps (cached as in isbi2012.py), the same superpixels (2D, per
section) and the same feature and forest settings; only the graph differs. In 3D, superpixels of
neighbouring sections that overlap are joined by local edges and lifted edges reach across
sections. The annotations of the training volume are 2D (each section's interiors), so the 3D
forests learn from 3D ground truth made by linking each section's objects to the next section's
by one-to-one maximum-IoU matching (IoU ≥ ``--link-iou``, :func:`~microseg.post.stitch3d
.stitch_slices`); edges between sections whose regions' objects were not linked count as cut.
Every mode fits its own forests on ``--train-slices`` and segments ``--val-slices`` as one
stack; each section of the result is scored on its own (thinned V_rand / V_info of its label
boundaries, as isbi2012.py), and the labels directly (rand split / merge). Prints a table and one
JSON line.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from microseg import zoo
from microseg.io.isbi import read_em_stack
from microseg.pipelines.em import em_raw, graph_config, slice_range, training_instances
from microseg.pipelines.model import load_model
from microseg.post.graph import train_edge_classifier
from microseg.post.stitch3d import stitch_slices

import isbi2012 as bench


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="em-membrane",
                        help="boundary network (.pt) or bundled model name")
    parser.add_argument("--cache", default="out/isbi2012", help="folder for cached maps")
    parser.add_argument("--graph-tta", choices=bench.TTA_MODES, default="none")
    parser.add_argument("--graph-config", help="EMGraphConfig YAML (mode and sampling are set "
                                               "here)")
    parser.add_argument("--sampling", type=float, nargs=3, default=[12.5, 1.0, 1.0],
                        metavar=("Z", "Y", "X"), help="voxel size for 3D distances "
                                                      "(ISBI: 50 × 4 × 4 nm)")
    parser.add_argument("--link-iou", type=float, default=0.3,
                        help="IoU linking GT objects of consecutive sections (3D forests)")
    parser.add_argument("--train-slices", default="0:15")
    parser.add_argument("--val-slices", default="15:20")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="also write the JSON line to FILE")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    root = bench.data_root() / "isbi2012"
    checkpoint = Path(args.checkpoint)
    if not checkpoint.exists() and zoo.is_model_name(args.checkpoint):
        checkpoint = zoo.checkpoint_path(args.checkpoint)
    digest = bench.file_digest(checkpoint)
    cache = Path(args.cache) / f"{checkpoint.stem}-{digest[:12]}" / "train"
    predictor = load_model(checkpoint, threads=args.threads)
    images = read_em_stack(root / "train" / "images")
    truth = training_instances(read_em_stack(root / "train" / "labels"), root / "train" / "labels")
    train_z = slice_range(args.train_slices, len(images), root / "train")
    val_z = slice_range(args.val_slices, len(images), root / "train")
    maps = {}
    seconds = {}
    for name, z in (("train", train_z), ("val", val_z)):
        found, spent = bench.boundary_maps(predictor, images, range(z.start, z.stop), cache)
        maps[name], seconds[name] = found[args.graph_tta], spent
    base = graph_config(args.graph_config)
    base = replace(base, forest=replace(base.forest, n_jobs=args.threads))
    gt_3d = stitch_slices(truth[train_z], iou_threshold=args.link_iou)
    rows = []
    for mode in ("2d", "3d"):
        config = replace(base, graph=replace(base.graph, mode=mode,
                                             sampling=list(args.sampling) if mode == "3d"
                                             else None))
        start = time.perf_counter()
        classifier = train_edge_classifier(maps["train"], em_raw(images[train_z]),
                                           gt_3d if mode == "3d" else truth[train_z], config,
                                           lifted=True)
        forest_s = time.perf_counter() - start
        for method in bench.METHODS:
            row = bench.graph_row(method, args.graph_tta, maps["val"], em_raw(images[val_z]),
                                  truth[val_z], classifier, 0.0)
            row.update(mode=mode, forest_s=forest_s)
            rows.append(row)
            print(f"{mode} {bench.METHODS[method]}: V_rand {row['v_rand']:.5f} V_info "
                  f"{row['v_info']:.5f} (split {row['rand_split']:.4f}, merge "
                  f"{row['rand_merge']:.4f}, {row['post_s']:.1f} s)", flush=True)
    print(f"\n{'graph':<6} {'method':<16} {'V_rand':>8} {'V_info':>8} {'split':>8} {'merge':>8} "
          f"{'segments':>9} {'post s':>7}")
    for r in rows:
        print(f"{r['mode']:<6} {bench.METHODS[r['method']]:<16} {r['v_rand']:>8.5f} "
              f"{r['v_info']:>8.5f} {r['rand_split']:>8.4f} {r['rand_merge']:>8.4f} "
              f"{r['segments']:>9} {r['post_s']:>7.1f}")
    line = json.dumps({
        "benchmark": "isbi2012_3d", "checkpoint": str(checkpoint), "checkpoint_sha256": digest,
        "train_slices": [train_z.start, train_z.stop], "val_slices": [val_z.start, val_z.stop],
        "graph_tta": args.graph_tta, "sampling": args.sampling, "link_iou": args.link_iou,
        "gt_3d_objects": int(len(np.unique(gt_3d)) - 1),
        "gt_2d_objects": int(len(np.unique(truth[train_z])) - 1),
        "rows": [{k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()}
                 for r in rows],
        "minutes": round((time.perf_counter() - started) / 60, 2)})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
