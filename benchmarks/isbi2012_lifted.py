"""Why lifted multicut does (not) beat multicut on ISBI 2012 (issue 33): a diagnosis on held-out
sections.

    .venv/bin/python benchmarks/isbi2012_lifted.py [--checkpoint em-membrane] \\
        [--edge-classifier src/microseg/zoo/weights/em-membrane.edges.npz] [--graph-tta none] \\
        [--weights 0.25 0.5 1 2 4] [--distances 2 3 4]

On the ``--val-slices`` (default 15–19; maps cached as in isbi2012.py) it reports:

* ceilings: the superpixels joined by their majority GT object (the best any graph solution
  can reach), multicut with oracle local costs, lifted multicut with oracle lifted costs (the
  forests' local costs, lifted costs from GT: what perfect lifted edges would add);
* the forests as classifiers on the held-out edges: ROC AUC, Brier score and accuracy of the
  local and lifted cut probabilities (lifted per graph distance, and only those inside
  multicut's segments: the ones that can change its result), and the mean predicted probability
  of the lifted edges that join two GT objects merged by multicut (whether the lifted forest
  sees the merges at all);
* sweeps: lifted multicut V_rand over the lifted-cost weight and over the lifted distance (the
  forests refitted on ``--train-slices`` for each distance).

All segmentations are scored as isbi2012.py scores them (thinned label boundaries per section).
Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

from microseg import zoo
from microseg.config import from_dict
from microseg.io.images import as_labels
from microseg.io.isbi import read_em_stack
from microseg.metrics import vrand_vinfo_thinned
from microseg.pipelines.em import em_raw, graph_config, load_edge_classifier, slice_range, \
    training_instances
from microseg.pipelines.model import load_model
from microseg.post.graph import EMGraphConfig, lifted_feature_names, lifted_multicut, \
    multicut, probabilities_to_costs, segment_em, train_edge_classifier
from microseg.post.graph.pipeline import build_graph, build_lifted, node_ground_truth

import isbi2012 as bench


def score(labels: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """ISBI scores of a label stack (thinned label boundaries, per section)."""
    result = vrand_vinfo_thinned(bench.label_boundaries(labels), gt, thresholds=[0.5])
    return {"v_rand": round(result.best_v_rand, 5), "v_info": round(result.best_v_info, 5)}


def pixels(node_labels: np.ndarray, superpixels: np.ndarray) -> np.ndarray:
    return as_labels(np.unique(node_labels[superpixels], return_inverse=True)[1]
                     .reshape(superpixels.shape) + 1)


def classifier_quality(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, Brier score, accuracy at 0.5 and the share of cut edges."""
    if len(np.unique(y)) < 2:
        return {"n": int(len(y))}
    return {"n": int(len(y)), "cut_fraction": round(float(y.mean()), 4),
            "auc": round(float(roc_auc_score(y, p)), 4),
            "brier": round(float(brier_score_loss(y, p)), 4),
            "accuracy": round(float(np.mean((p > 0.5) == y)), 4)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="em-membrane")
    parser.add_argument("--edge-classifier", default=str(
        bench.REPO / "src/microseg/zoo/weights/em-membrane.edges.npz"))
    parser.add_argument("--cache", default="out/isbi2012")
    parser.add_argument("--graph-tta", choices=bench.TTA_MODES, default="none")
    parser.add_argument("--train-slices", default="0:15")
    parser.add_argument("--val-slices", default="15:20")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--distances", type=int, nargs="*", default=[2, 3, 4])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save-problem", metavar="NPZ",
                        help="write the lifted multicut problem of the held-out sections (nodes, "
                             "local and lifted edges with their costs) for solver comparisons")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    root = bench.data_root() / "isbi2012"
    checkpoint = Path(args.checkpoint)
    if not checkpoint.exists() and zoo.is_model_name(args.checkpoint):
        checkpoint = zoo.checkpoint_path(args.checkpoint)
    cache = Path(args.cache) / f"{checkpoint.stem}-{bench.file_digest(checkpoint)[:12]}" / "train"
    predictor = load_model(checkpoint, threads=args.threads)
    images = read_em_stack(root / "train" / "images")
    truth = training_instances(read_em_stack(root / "train" / "labels"), root / "train" / "labels")
    val_z = slice_range(args.val_slices, len(images), root / "train")
    train_z = slice_range(args.train_slices, len(images), root / "train")
    prob = bench.boundary_maps(predictor, images, range(val_z.start, val_z.stop),
                               cache)[0][args.graph_tta]
    raw, gt = em_raw(images[val_z]), truth[val_z]
    classifier = load_edge_classifier(args.edge_classifier, "em-lmc")
    config = from_dict(EMGraphConfig, {k: v for k, v in classifier.config.items()
                                       if k != "uses_raw"})
    em = build_graph(prob, raw, config)
    n, uv = em.graph.n_nodes, em.graph.uv_ids
    majority, valid = node_ground_truth(em.superpixels, gt, n)
    p_local = classifier.predict_local(em.local_features)
    costs = probabilities_to_costs(p_local, config.costs.beta, config.costs.clip)
    luv, lfeatures = build_lifted(em, p_local, config)
    p_lifted = classifier.predict_lifted(lfeatures)
    hops = lfeatures[:, lifted_feature_names(config.graph.thresholds).index("hops")]

    def lifted_costs(p: np.ndarray, weight: float = config.costs.lifted_weight) -> np.ndarray:
        return weight * probabilities_to_costs(p, config.costs.lifted_beta, config.costs.clip)

    def labelled(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = valid[pairs[:, 0]] & valid[pairs[:, 1]]
        return (majority[pairs[:, 0]] != majority[pairs[:, 1]]).astype(int), keep

    if args.save_problem:
        np.savez(args.save_problem, n_nodes=n, uv=uv, costs=costs, lifted_uv=luv,
                 lifted_costs=lifted_costs(p_lifted))
    y_local, k_local = labelled(uv)
    y_lifted, k_lifted = labelled(luv)
    results: dict = {"nodes": int(n), "local_edges": int(len(uv)), "lifted_edges": int(len(luv))}
    mc_nodes = multicut(n, uv, costs, solver=config.solver)
    lmc_nodes = lifted_multicut(n, uv, costs, luv, lifted_costs(p_lifted), solver=config.solver)
    results["multicut"] = score(pixels(mc_nodes, em.superpixels), gt)
    results["lifted_multicut"] = score(pixels(lmc_nodes, em.superpixels), gt)
    # ceilings
    best = np.where(valid, majority, -1 - np.arange(n))
    results["superpixel_ceiling"] = score(pixels(best, em.superpixels), gt)
    oracle_local = probabilities_to_costs(np.where(k_local, y_local * 0.98 + 0.01, p_local),
                                          config.costs.beta, config.costs.clip)
    results["multicut_oracle_local"] = score(pixels(
        multicut(n, uv, oracle_local, solver=config.solver), em.superpixels), gt)
    oracle_lifted = np.where(k_lifted, y_lifted * 0.98 + 0.01, p_lifted)
    results["lifted_multicut_oracle_lifted"] = score(pixels(lifted_multicut(
        n, uv, costs, luv, lifted_costs(oracle_lifted), solver=config.solver), em.superpixels), gt)
    # the forests as classifiers
    results["local_forest"] = classifier_quality(y_local[k_local], p_local[k_local])
    results["lifted_forest"] = classifier_quality(y_lifted[k_lifted], p_lifted[k_lifted])
    results["lifted_forest_by_hops"] = {
        int(h): classifier_quality(y_lifted[k_lifted & (hops == h)],
                                   p_lifted[k_lifted & (hops == h)])
        for h in np.unique(hops)}
    joined = k_lifted & (mc_nodes[luv[:, 0]] == mc_nodes[luv[:, 1]])
    results["lifted_forest_inside_multicut_segments"] = classifier_quality(y_lifted[joined],
                                                                           p_lifted[joined])
    merged = joined & (y_lifted == 1)
    results["lifted_edges_across_multicut_merges"] = {
        "n": int(merged.sum()),
        "mean_cut_probability": round(float(p_lifted[merged].mean()), 4) if merged.any()
        else None,
        "cut_by_lifted_multicut": round(float(np.mean(
            lmc_nodes[luv[merged, 0]] != lmc_nodes[luv[merged, 1]])), 4) if merged.any()
        else None}
    # sweeps
    results["weight_sweep"] = {
        str(w): score(pixels(lifted_multicut(n, uv, costs, luv, lifted_costs(p_lifted, w),
                                             solver=config.solver), em.superpixels), gt)
        for w in args.weights}
    results["distance_sweep"] = {}
    if args.distances:
        train_prob = bench.boundary_maps(predictor, images, range(train_z.start, train_z.stop),
                                         cache)[0][args.graph_tta]
        for distance in args.distances:
            refit = graph_config(config, lifted_distance=distance)
            refit = replace(refit, forest=replace(refit.forest, n_jobs=args.threads))
            forests = train_edge_classifier(train_prob, em_raw(images[train_z]),
                                            truth[train_z], refit, lifted=True)
            labels = segment_em(prob, raw, forests, method="lifted_multicut")
            mc = segment_em(prob, raw, forests, method="multicut")
            results["distance_sweep"][str(distance)] = {
                "lifted_multicut": score(labels, gt), "multicut": score(mc, gt)}
    for key, value in results.items():
        print(f"{key}: {value}")
    line = json.dumps({"benchmark": "isbi2012_lifted", "checkpoint": str(checkpoint),
                       "edge_classifier": args.edge_classifier, "graph_tta": args.graph_tta,
                       "val_slices": [val_z.start, val_z.stop], **results,
                       "minutes": round((time.perf_counter() - started) / 60, 2)})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
