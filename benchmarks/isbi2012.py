"""ISBI 2012 EM benchmark of a boundary network with thresholding, multicut and lifted multicut.

Issue 5: V_rand and V_info of thresholding (no TTA, mean TTA, max TTA), multicut and lifted
multicut on held-out sections, side by side as in Table 1 of RC-SPCNet
(001_8efe375831c61076.txt), and the challenge submission of the 30 test sections.

    .venv/bin/python benchmarks/isbi2012.py --checkpoint runs/rcspcnet_isbi2012/best.pt
    .venv/bin/python benchmarks/isbi2012.py --checkpoint runs/rcspcnet_isbi2012/best.pt \
        --forest-checkpoint runs/rcspcnet_isbi2012_sections0-9/best.pt --train-slices 10:15
    .venv/bin/python benchmarks/isbi2012.py --checkpoint CKPT --edge-classifier rf.npz \\
        --submission isbi2012_test.tif --json isbi2012.json
    .venv/bin/python benchmarks/isbi2012.py --checkpoint CKPT --train-slices 0:4 \\
        --val-slices 15:17 --test-slices 0:2 --threads 1      # quick development run

Data: ``$MICROSEG_DATA/isbi2012`` (default ``../shared/data`` beside the repository): the 20
annotated sections of the training volume (``train/images``, ``train/labels``: 255 = cell
interior, 0 = membrane; GT objects are the 4-connected interiors of each section) and the 30 test
sections (``test/images``, no labels). Sections 0–14 train the edge random forests, 15–19 are
scored (the network under test should have been trained on 0–14 only, as
``configs/rcspcnet_isbi2012.yaml`` does). Everything runs on the CPU.

1. Boundary maps. Every section goes through the network under the 8 dihedral transforms
   (:mod:`microseg.infer.tta`); the identity pass is the map without TTA, the mean / max of the 8
   back-transformed maps the TTA maps — the same maps as ``Predictor(tta="mean"|"max")`` for
   these square 512² sections, in 8 passes instead of 17. Maps are cached as ``.npy`` per section
   (with the network seconds) under ``--cache/<checkpoint stem>-<sha256 prefix>/`` (default
   ``out/isbi2012``, git-ignored), so the graph part re-runs in under a minute.
2. Edge classifier. The local and lifted random forests are fitted on the training sections'
   ``--graph-tta`` maps (of ``--forest-checkpoint`` when given: forests fitted on a network's
   maps of its own training sections learn from near-perfect maps and over-segment unseen
   sections, so the recommended protocol trains a second network on sections 0–9
   (``configs/rcspcnet_isbi2012_forests.yaml``) and fits the forests on its maps of 10–14), raw images (:func:`~microseg.pipelines.em.em_raw`) and GT
   (:func:`~microseg.post.graph.train_edge_classifier`) and saved to ``--edges-out``, unless
   ``--edge-classifier`` gives a trained one.
3. Scores on the validation sections, each section scored on its own and the scores averaged
   (:mod:`microseg.metrics.isbi`: foreground-restricted, GT membrane excluded).
   Thresholding: the membrane map is thresholded at 0.1, 0.2, …, 0.9, the membrane thinned to
   1-pixel lines and the enclosed regions scored; the best V_rand and the best V_info over the
   thresholds are reported (the challenge's "maximal" scores). Multicut / lifted multicut
   (:func:`~microseg.post.graph.segment_em` on the ``--graph-tta`` map): their label images are
   scored as the challenge scores a segmentation submitted as a binary map — the labels'
   boundaries (pixels with a 4-neighbour of another label) become membrane, are thinned and the
   enclosed regions scored (``V_rand`` / ``V_info`` columns) — and also directly, labels against
   GT with no boundary pixels (``labels`` columns in the JSON). Seconds: network time of the
   validation sections for the map a row uses, and post-processing time (graph, costs, solver).
4. Submission: the test sections' map of ``--submission-tta`` (default ``best``: the TTA mode of
   the best thresholding V_rand on validation) in the challenge's format, a 32-bit float TIFF
   stack ``(30, 512, 512)`` in the polarity of its labels: 0 = certainly membrane, 1 = certainly
   not membrane, i.e. 1 − the network's membrane probability. Written atomically.
5. Targets of issue 5, printed pass / fail: lifted multicut V_rand ≥ 0.975 on sections 15–19,
   and lifted multicut V_rand above thresholding (no TTA).

Prints a table and one JSON line with all figures.

``--folds K`` runs the cross-validated protocol of issue 33 instead (networks trained per fold,
forests by cross-prediction, mean ± s.d. over folds): see ``benchmarks/isbi2012_folds.py``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
from skimage.segmentation import find_boundaries

from microseg import zoo
from microseg.infer.predictor import Predictor
from microseg.infer.tta import DIHEDRAL, dihedral, dihedral_inverse
from microseg.io.atomic import atomic_path
from microseg.io.images import write_image
from microseg.io.isbi import read_em_stack
from microseg.metrics import vrand_vinfo, vrand_vinfo_thinned
from microseg.post.graph import EdgeClassifier, EMGraphConfig, segment_em, \
    train_edge_classifier
from microseg.pipelines.em import em_raw, graph_config, load_edge_classifier, \
    predict_boundary, slice_range, training_instances
from microseg.pipelines.model import load_model

REPO = Path(__file__).resolve().parents[1]
TTA_MODES = ("none", "mean", "max")
METHODS = {"multicut": "multicut", "lifted_multicut": "lifted multicut"}
TARGET_V_RAND = 0.975


def data_root() -> Path:
    return Path(os.environ.get("MICROSEG_DATA", REPO.parent / "shared" / "data"))


def file_digest(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dihedral_maps(predictor: Predictor, image: np.ndarray, span: tuple[float, float] | None
                  ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Membrane maps ``(Y, X)`` of one section without TTA and with mean / max TTA, from the 8
    dihedral passes; and the network seconds of the map without TTA and of the 8 passes."""
    total, peak, plain, seconds = None, None, None, {"none": 0.0, "tta": 0.0}
    for k, flip in DIHEDRAL:
        start = time.perf_counter()
        pred = predict_boundary(predictor, np.ascontiguousarray(dihedral(image, k, flip)),
                                intensity_range=span, tta="none")
        back = dihedral_inverse(pred, k, flip)
        elapsed = time.perf_counter() - start
        seconds["tta"] += elapsed
        if k == 0 and not flip:
            plain, seconds["none"] = back.copy(), elapsed
        total = back.astype(np.float64) if total is None else total + back
        peak = back.copy() if peak is None else np.maximum(peak, back)
    maps = {"none": plain, "mean": (total / len(DIHEDRAL)).astype(np.float32), "max": peak}
    return maps, seconds


def boundary_maps(predictor: Predictor, stack: np.ndarray, sections: Sequence[int], cache: Path,
                  crop: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Maps ``(Z, Y, X)`` per TTA mode of ``sections`` of ``stack`` (cached per section in
    ``cache``), and the summed network seconds (``none``: identity passes; ``tta``: all).
    ``crop``: only the top-left ``crop`` × ``crop`` pixels of each section (quick runs)."""
    span = None
    if predictor.normalization.method == "sequence":     # as the model saw its training stack
        span = (float(stack.min()), float(stack.max()))
    if crop:
        stack, cache = stack[:, :crop, :crop], cache / f"crop{crop}"
    per_mode: dict[str, list[np.ndarray]] = {mode: [] for mode in TTA_MODES}
    seconds = {"none": 0.0, "tta": 0.0}
    for z in sections:
        files = {mode: cache / f"{z:02d}_{mode}.npy" for mode in TTA_MODES}
        timing = cache / f"{z:02d}_seconds.json"
        if all(f.is_file() for f in files.values()) and timing.is_file():
            maps = {mode: np.load(f) for mode, f in files.items()}
            spent = json.loads(timing.read_text(encoding="utf-8"))
        else:
            maps, spent = dihedral_maps(predictor, stack[z], span)
            for mode, f in files.items():
                write_image(f, maps[mode])
            with atomic_path(timing) as tmp:
                tmp.write_text(json.dumps(spent), encoding="utf-8")
            print(f"  section {z:2d}: {spent['tta']:.1f} s ({cache.name})", flush=True)
        for mode in TTA_MODES:
            per_mode[mode].append(maps[mode])
        seconds = {key: seconds[key] + spent[key] for key in seconds}
    return {mode: np.stack(maps) for mode, maps in per_mode.items()}, seconds


def label_boundaries(labels: np.ndarray) -> np.ndarray:
    """Binary membrane map ``(Z, Y, X)`` float32 of a label stack: pixels with a 4-neighbour of
    another label in their section."""
    return np.stack([find_boundaries(s, connectivity=1, mode="inner") for s in labels]
                    ).astype(np.float32)


def threshold_row(mode: str, prob: np.ndarray, gt: np.ndarray, network_s: float) -> dict:
    """Table row of a membrane map ``(Z, Y, X)``: best thinned V_rand / V_info over thresholds."""
    start = time.perf_counter()
    scores = vrand_vinfo_thinned(prob, gt)
    return {"method": "thresholding", "tta": mode, "v_rand": scores.best_v_rand,
            "v_info": scores.best_v_info, "threshold_rand": scores.best_threshold_rand,
            "threshold_info": scores.best_threshold_info, "network_s": network_s,
            "post_s": 0.0, "score_s": time.perf_counter() - start}


def graph_row(method: str, tta: str, prob: np.ndarray, raw: np.ndarray | None, gt: np.ndarray,
              classifier: EdgeClassifier, network_s: float,
              config: EMGraphConfig | None = None) -> dict:
    """Table row of ``segment_em`` by ``method`` (graph ``config``, default the classifier's):
    its labels scored as a submitted boundary map (thinned) and directly."""
    start = time.perf_counter()
    labels = segment_em(prob, raw, classifier, method=method, config=config)
    post_s = time.perf_counter() - start
    start = time.perf_counter()
    isbi = vrand_vinfo_thinned(label_boundaries(labels), gt, thresholds=[0.5])
    direct = vrand_vinfo(gt, labels, per_slice=True)
    return {"method": method, "tta": tta, "v_rand": isbi.best_v_rand,
            "v_info": isbi.best_v_info, "v_rand_labels": direct.v_rand,
            "v_info_labels": direct.v_info, "rand_split": direct.rand_split,
            "rand_merge": direct.rand_merge,
            "segments": int(sum(len(np.unique(s)) for s in labels)),
            "network_s": network_s, "post_s": post_s, "score_s": time.perf_counter() - start}


def print_table(rows: list[dict], network: str) -> None:
    """The rows as in Table 1 of the paper, with seconds."""
    print(f"\n{'network':<24} {'post-processing':<16} {'V_rand':>8} {'V_info':>8} "
          f"{'thr':>5} {'network s':>10} {'post s':>8}")
    for row in rows:
        if row["method"] == "thresholding":
            post = "THR" if row["tta"] == "none" else f"{row['tta'].capitalize()} TTA"
            thr = f"{row['threshold_rand']:.1f}"
        else:
            post, thr = f"{METHODS[row['method']]}", ""
        name = network if row["method"] == "thresholding" else f"{network} ({row['tta']} TTA)"
        print(f"{name:<24} {post:<16} {row['v_rand']:>8.5f} {row['v_info']:>8.5f} {thr:>5} "
              f"{row['network_s']:>10.1f} {row['post_s']:>8.1f}")
    graph = [r for r in rows if r["method"] != "thresholding"]
    if graph:
        print("labels scored directly (no boundary pixels): " + ", ".join(
            f"{METHODS[r['method']]} V_rand {r['v_rand_labels']:.5f} V_info "
            f"{r['v_info_labels']:.5f}" for r in graph))


def targets(rows: list[dict]) -> dict[str, dict]:
    """Issue 5's targets (and, for information, lifted multicut against the best thresholding)."""
    by = {(r["method"], r["tta"]): r for r in rows}
    lmc = next(r for r in rows if r["method"] == "lifted_multicut")
    plain = by[("thresholding", "none")]
    best_thr = max((r for r in rows if r["method"] == "thresholding"), key=lambda r: r["v_rand"])
    return {
        "lmc_v_rand_at_least_0.975": {"value": lmc["v_rand"], "target": TARGET_V_RAND,
                                      "pass": lmc["v_rand"] >= TARGET_V_RAND},
        "lmc_above_thresholding": {"value": lmc["v_rand"], "target": plain["v_rand"],
                                   "pass": lmc["v_rand"] > plain["v_rand"]},
        "lmc_above_best_thresholding (info)": {
            "value": lmc["v_rand"], "target": best_thr["v_rand"], "tta": best_thr["tta"],
            "pass": lmc["v_rand"] > best_thr["v_rand"]},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint",
                        help="boundary network (.pt / .onnx) or bundled model name (required "
                             "without --folds)")
    parser.add_argument("--cache", default="out/isbi2012",
                        help="folder for cached boundary maps and the edge classifier")
    parser.add_argument("--graph-tta", choices=TTA_MODES, default="mean",
                        help="map used by the random forests, multicut and lifted multicut")
    parser.add_argument("--edge-classifier", help="use this trained edge classifier (.npz)")
    parser.add_argument("--edges-out", help="where to save the trained edge classifier "
                                            "(default: under --cache)")
    parser.add_argument("--graph-config", help="EMGraphConfig YAML for training the forests")
    parser.add_argument("--submission", help="test-stack submission TIFF (default: under "
                                             "--cache)")
    parser.add_argument("--submission-tta", choices=TTA_MODES + ("best",), default="best",
                        help="map written for the test sections (best: best validation V_rand)")
    parser.add_argument("--forest-checkpoint",
                        help="network whose maps train the forests (default: --checkpoint); "
                             "e.g. one trained on sections 0-9 with --train-slices 10:15")
    parser.add_argument("--train-slices", default="0:15", help="sections A:B training the forests")
    parser.add_argument("--val-slices", default="15:20", help="sections A:B scored")
    parser.add_argument("--test-slices", default="0:30", help="test sections A:B submitted")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch, forests)")
    parser.add_argument("--json", metavar="FILE", help="also write the JSON line to FILE")
    folds = parser.add_argument_group("cross-validation (benchmarks/isbi2012_folds.py)")
    folds.add_argument("--folds", type=int, metavar="K",
                       help="train and score on K contiguous folds of the annotated sections")
    folds.add_argument("--config", help="training configuration of the networks (YAML)")
    folds.add_argument("--runs", help="folder of the per-fold runs (outside the repository)")
    folds.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a value of --config (repeatable), e.g. --set "
                            "early_stopping.patience=10")
    folds.add_argument("--iterations", type=int, help="iteration budget per network "
                                                      "(default: the configuration's length)")
    folds.add_argument("--fold-ids", type=int, nargs="+", metavar="F",
                       help="score only these folds (default all)")
    folds.add_argument("--crop", type=int, metavar="PX",
                       help="score only the top-left PX × PX of each section (quick runs)")
    folds.add_argument("--grid", action="append", metavar="KEY=[V1, V2]",
                       help="graph configuration values to select from by the mean over folds "
                            "(repeatable; default costs.beta and costs.lifted_weight)")
    folds.add_argument("--quiet", action="store_true", help="no training progress bars")
    args = parser.parse_args(argv)
    if args.folds:
        from isbi2012_folds import run_folds

        if not (args.config and args.runs):
            parser.error("--folds needs --config and --runs")
        run_folds(args)
        return
    if not args.checkpoint:
        parser.error("--checkpoint is required (or use --folds)")
    started = time.perf_counter()
    root = data_root() / "isbi2012"
    checkpoint = Path(args.checkpoint)
    if not checkpoint.exists() and zoo.is_model_name(args.checkpoint):
        checkpoint = zoo.checkpoint_path(args.checkpoint)          # a bundled model's weights
    digest = file_digest(checkpoint)
    cache = Path(args.cache) / f"{checkpoint.stem}-{digest[:12]}"
    predictor = load_model(checkpoint, threads=args.threads)

    images = read_em_stack(root / "train" / "images")
    truth = training_instances(read_em_stack(root / "train" / "labels"), root / "train" / "labels")
    test = read_em_stack(root / "test" / "images")
    train_z = slice_range(args.train_slices, len(images), root / "train")
    val_z = slice_range(args.val_slices, len(images), root / "train")
    test_z = slice_range(args.test_slices, len(test), root / "test")

    print(f"boundary maps ({checkpoint}, cache {cache})", flush=True)
    val_maps, val_s = boundary_maps(predictor, images, range(val_z.start, val_z.stop),
                                    cache / "train")

    if args.edge_classifier:
        classifier = load_edge_classifier(args.edge_classifier, "em-lmc")
        edges_path, train_s, forest_s = Path(args.edge_classifier), {}, 0.0
    else:
        forest_net, forest_cache = predictor, cache
        if args.forest_checkpoint:
            forest_path = Path(args.forest_checkpoint)
            forest_net = load_model(forest_path, threads=args.threads)
            forest_cache = Path(args.cache) / \
                f"{forest_path.stem}-{file_digest(forest_path)[:12]}"
        train_maps, train_s = boundary_maps(forest_net, images, range(train_z.start, train_z.stop),
                                            forest_cache / "train")
        config = graph_config(args.graph_config)
        config = replace(config, forest=replace(config.forest, n_jobs=args.threads))
        print(f"edge classifier: sections {train_z.start}-{train_z.stop - 1}, "
              f"{args.graph_tta} TTA maps", flush=True)
        start = time.perf_counter()
        classifier = train_edge_classifier(train_maps[args.graph_tta], em_raw(images[train_z]),
                                           truth[train_z], config, lifted=True)
        forest_s = time.perf_counter() - start
        edges_path = Path(args.edges_out) if args.edges_out else \
            cache / f"edges_{args.graph_tta}_{train_z.start}-{train_z.stop}.npz"
        classifier.save(edges_path)
    uses_raw = classifier.config.get("uses_raw", True)

    print("scoring", flush=True)
    gt = truth[val_z]
    rows = [threshold_row(mode, val_maps[mode], gt, val_s["none" if mode == "none" else "tta"])
            for mode in TTA_MODES]
    raw = em_raw(images[val_z]) if uses_raw else None
    graph_s = val_s["none" if args.graph_tta == "none" else "tta"]
    for method in METHODS:
        rows.append(graph_row(method, args.graph_tta, val_maps[args.graph_tta], raw, gt,
                              classifier, graph_s))
        print(f"  {METHODS[method]}: V_rand {rows[-1]['v_rand']:.5f}", flush=True)

    thresholding = [r for r in rows if r["method"] == "thresholding"]
    submit_mode = args.submission_tta if args.submission_tta != "best" else \
        max(thresholding, key=lambda r: r["v_rand"])["tta"]
    print(f"test sections {test_z.start}-{test_z.stop - 1} ({submit_mode} TTA)", flush=True)
    test_maps, test_s = boundary_maps(predictor, test, range(test_z.start, test_z.stop),
                                      cache / "test")
    submission = Path(args.submission) if args.submission else \
        cache / f"isbi2012_test_{submit_mode}.tif"
    stack = (1.0 - test_maps[submit_mode]).astype(np.float32)
    write_image(submission, stack, compression=None)
    complete = (test_z.start, test_z.stop) == (0, len(test))

    print_table(rows, str(predictor.meta.arch or checkpoint.stem))
    results = targets(rows)
    for name, check in results.items():
        print(f"target {name}: {check['value']:.5f} vs {check['target']:.5f} -> "
              f"{'PASS' if check['pass'] else 'FAIL'}")
    print(f"submission: {submission} {stack.shape} float32, 0 = membrane"
          + ("" if complete else " (NOT all 30 test sections: not a valid submission)"))
    rounded = [{k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()}
               for r in rows]
    line = json.dumps({
        "benchmark": "isbi2012", "data": str(root), "checkpoint": str(checkpoint),
        "checkpoint_sha256": digest, "forest_checkpoint": args.forest_checkpoint,
        "threads": args.threads,
        "train_slices": [train_z.start, train_z.stop], "val_slices": [val_z.start, val_z.stop],
        "graph_tta": args.graph_tta, "edge_classifier": str(edges_path),
        "graph_config": classifier.config, "forest_s": round(forest_s, 2),
        "train_network_s": {k: round(v, 2) for k, v in train_s.items()},
        "rows": rounded, "targets": results,
        "submission": {"path": str(submission), "tta": submit_mode, "shape": list(stack.shape),
                       "complete": complete, "polarity": "0 = membrane, 1 = non-membrane",
                       "network_s": round(test_s["none" if submit_mode == "none" else "tta"], 2)},
        "minutes": round((time.perf_counter() - started) / 60, 2)})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
