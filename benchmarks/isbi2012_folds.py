"""Cross-validated ISBI 2012 benchmark (issue 33): ``benchmarks/isbi2012.py --folds K``.

    .venv/bin/python benchmarks/isbi2012.py --folds 4 --config configs/unet_isbi2012.yaml \\
        --runs /data/runs/isbi-cv-unet
    .venv/bin/python benchmarks/isbi2012.py --folds 4 --config configs/unet_isbi2012.yaml \\
        --runs /tmp/cv --iterations 3 --fold-ids 0 --crop 128 --grid costs.beta=[0.5]  # plumbing

The 20 annotated sections are cut into K contiguous folds (:mod:`microseg.pipelines.em_folds`).
For every fold f scored (``--fold-ids``, default all):

1. Networks (``--config``, a training YAML with one isbi source, ``--set KEY=VALUE`` overrides
   applied): the outer network trained
   without fold f, and the pair networks trained without folds f and g (g ≠ f); each stops early
   on a seeded 20 % of its own training sections. ``--iterations`` replaces the configured length
   (a budget). Runs live in ``--runs/<network>`` (keep it outside the repository): a finished
   network (``done.json``) is kept, an interrupted one resumes from its ``last.pt``, and a
   larger budget continues a network that used up the previous one.
2. Boundary maps (8 dihedral passes: no TTA, mean, max) of the sections each network did not
   train on, cached per checkpoint under ``--runs/<network>/maps``.
3. Edge forests for fold f, fitted on the ``--graph-tta`` maps of every other fold g made by the
   pair network that saw neither f nor g (cross-prediction: maps of unseen sections, as at test
   time), and cached per graph configuration under ``--runs/forests``.
4. Scores of fold f with isbi2012.py's own scoring: thresholding (no / mean / max TTA, best
   thinned V_rand and V_info over thresholds), multicut and lifted multicut, for every
   configuration of the ``--grid`` (``KEY=[V1, V2]`` over :class:`EMGraphConfig` keys, on top of
   ``--graph-config``; default: boundary bias and lifted weight); cached under ``--runs/scores``.

The configuration with the best mean lifted multicut V_rand over the folds is selected, and the
Table-1-style table printed as mean ± s.d. over folds at it, with the per-fold values. Selecting
on the scored folds flatters the selected row a little; ``nested_lmc_v_rand`` scores each fold
with the configuration the other folds chose. Prints one JSON line (also ``--json``).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from microseg.config import load_yaml, to_dict, with_overrides
from microseg.errors import ConfigError
from microseg.io.atomic import atomic_path
from microseg.io.isbi import read_em_stack
from microseg.pipelines.em import em_raw, graph_config, training_instances
from microseg.pipelines.em_folds import FoldNetwork, fold_networks, fold_sections, forest_maps, \
    network_train_config
from microseg.pipelines.model import load_model
from microseg.post.graph import EdgeClassifier, train_edge_classifier
from microseg.train import train, train_config

import isbi2012 as bench

DEFAULT_GRID = ["costs.beta=[0.4, 0.5, 0.6]", "costs.lifted_weight=[0.5, 1.0]"]
TARGET_MEAN, TARGET_FOLD = 0.975, 0.96


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value), encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def best_iteration(history: list[dict], metric: str) -> int | None:
    """Iteration of the best validation in a training history (lowest loss, else highest)."""
    scored = [h for h in history if metric in h]
    if not scored:
        return None
    sign = -1.0 if metric == "loss" else 1.0
    return int(max(scored, key=lambda h: sign * h[metric])["iteration"])


def train_network(network: FoldNetwork, base: dict, n_sections: int, args: Any) -> dict:
    """Train (or resume, or keep) one network; returns its ``done.json`` record."""
    out = Path(args.runs) / network.name
    config = network_train_config(base, network, n_sections, args.folds,
                                  iterations=args.iterations, output=str(out))
    config.setdefault("data", {})["root"] = str(bench.data_root())
    if args.threads:
        config["threads"] = args.threads
    checked = train_config(config)
    done = _read_json(out / "done.json")
    budget = checked.iterations            # None: the configured number of epochs
    if done and (done["stopped"] != "completed" or budget is None or done["total"] >= budget):
        return done
    last = out / "last.pt"
    resume = last if last.is_file() else None
    print(f"network {network.name}: sections {list(network.trainable)} "
          f"({'resume' if resume else 'start'})", flush=True)
    wall, cpu = time.perf_counter(), time.process_time()
    result = train(checked, resume=resume, out=out, progress=not args.quiet)
    previous = done or {}
    record = {"name": network.name, "held_out_folds": list(network.held_out),
              "stopped": result.stopped, "iteration": result.iteration, "total": result.total,
              "best_score": result.best_score,
              "best_iteration": best_iteration(result.history, checked.validation.metric),
              "cpu_s": previous.get("cpu_s", 0.0) + time.process_time() - cpu,
              "wall_s": previous.get("wall_s", 0.0) + time.perf_counter() - wall,
              "checkpoint": str(result.best or result.last)}
    _write_json(out / "done.json", record)
    return record


def network_maps(record: dict, images: np.ndarray, sections: list[int], args: Any
                 ) -> tuple[dict[str, np.ndarray], dict[str, float], str]:
    """Maps per TTA mode ``(Z, Y, X)`` of ``sections`` by a trained network, its network
    seconds, and the checkpoint's digest."""
    checkpoint = Path(record["checkpoint"])
    digest = bench.file_digest(checkpoint)
    cache = checkpoint.parent / "maps" / f"{checkpoint.stem}-{digest[:12]}"
    predictor = load_model(checkpoint, threads=args.threads)
    maps, seconds = bench.boundary_maps(predictor, images, sections, cache, crop=args.crop)
    return maps, seconds, digest


def grid_configs(args: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(overrides, EMGraphConfig as dict)`` for every combination of the grid."""
    base = to_dict(graph_config(args.graph_config))
    base["forest"]["n_jobs"] = args.threads
    axes = []
    for item in args.grid or DEFAULT_GRID:
        key, sep, values = item.partition("=")
        options = yaml.safe_load(values) if sep else None
        if not isinstance(options, list) or not options:
            raise ConfigError(f"--grid {item!r}: expected KEY=[V1, V2, ...]")
        axes.append([(key.strip(), v) for v in options])
    out = []
    for combination in itertools.product(*axes):
        overrides = dict(combination)
        data = with_overrides(base, [f"{k}={json.dumps(v)}" for k, v in overrides.items()])
        out.append((overrides, to_dict(graph_config(data))))
    return out


def fold_classifier(fold: int, config: dict, inputs: list[dict], args: Any) -> EdgeClassifier:
    """The forests of ``fold`` under graph ``config``, fitted on ``inputs`` (one dict per other
    fold: ``maps``, ``raw``, ``gt``, ``digest`` of the network that made the maps); cached by
    everything they depend on."""
    forest_part = {k: v for k, v in config.items()
                   if k not in ("costs", "solver", "solver_options")}
    key = _digest([forest_part, args.graph_tta, args.crop, [i["digest"] for i in inputs]])
    path = Path(args.runs) / "forests" / f"f{fold}_{key}.npz"
    if path.is_file():
        return EdgeClassifier.load(path)
    print(f"fold {fold}: edge forests ({len(inputs)} folds of cross-predicted maps)", flush=True)
    classifier = train_edge_classifier(
        np.concatenate([i["maps"][args.graph_tta] for i in inputs]),
        np.concatenate([i["raw"] for i in inputs]), np.concatenate([i["gt"] for i in inputs]),
        graph_config(config), lifted=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    classifier.save(path)
    return classifier


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summary_rows(per_fold: dict[int, list[dict]]) -> list[dict]:
    """Rows (method, TTA) with mean ± s.d. over folds and the per-fold values."""
    folds = sorted(per_fold)
    rows = []
    for index, first in enumerate(per_fold[folds[0]]):
        values = {f: per_fold[f][index] for f in folds}
        row = {"method": first["method"], "tta": first["tta"]}
        for metric in ("v_rand", "v_info"):
            row[f"{metric}_mean"], row[f"{metric}_sd"] = mean_sd([values[f][metric]
                                                                 for f in folds])
            row[f"{metric}_folds"] = [round(values[f][metric], 6) for f in folds]
        for extra in ("rand_split", "rand_merge", "segments", "post_s"):
            if extra in first:
                row[f"{extra}_mean"] = statistics.fmean(values[f][extra] for f in folds)
        rows.append(row)
    return rows


def print_summary(rows: list[dict], name: str, folds: list[int]) -> None:
    print(f"\n{name}, folds {folds} (mean ± s.d. over folds)")
    print(f"{'post-processing':<28} {'V_rand':>17} {'V_info':>17}   V_rand per fold")
    for row in rows:
        if row["method"] == "thresholding":
            label = "thresholding, " + ("no TTA" if row["tta"] == "none" else
                                        f"{row['tta']} TTA")
        else:
            label = f"{bench.METHODS[row['method']]} ({row['tta']} TTA)"
        print(f"{label:<28} {row['v_rand_mean']:.4f} ± {row['v_rand_sd']:.4f} "
              f"{row['v_info_mean']:.4f} ± {row['v_info_sd']:.4f}   "
              + " ".join(f"{v:.4f}" for v in row["v_rand_folds"]))


def lmc(rows: list[dict]) -> dict:
    return next(r for r in rows if r["method"] == "lifted_multicut")


def run_folds(args: Any) -> None:
    """The whole cross-validated benchmark (see the module docstring)."""
    started = time.perf_counter()
    runs = Path(args.runs).resolve()
    if bench.REPO in runs.parents or runs == bench.REPO:
        raise ConfigError(f"--runs {runs}: keep fold runs outside the repository")
    root = bench.data_root() / "isbi2012"
    images = read_em_stack(root / "train" / "images")
    truth = training_instances(read_em_stack(root / "train" / "labels"), root / "train" / "labels")
    n = len(images)
    folds = fold_sections(n, args.folds)
    chosen = sorted(set(args.fold_ids if args.fold_ids is not None else range(args.folds)))
    base = with_overrides(load_yaml(args.config), args.set)
    view = np.s_[:, :args.crop, :args.crop] if args.crop else np.s_[:]

    records = {net.name: train_network(net, base, n, args)
               for net in fold_networks(n, args.folds, chosen)}
    made: dict[tuple[str, int], dict] = {}              # (network, fold) → maps and inputs

    def maps_of(name: str, fold: int) -> dict:
        if (name, fold) not in made:
            maps, seconds, digest = network_maps(records[name], images, list(folds[fold]), args)
            made[name, fold] = {"maps": maps, "seconds": seconds, "digest": digest,
                                "raw": em_raw(images[list(folds[fold])])[view],
                                "gt": truth[list(folds[fold])][view]}
        return made[name, fold]

    configs = grid_configs(args)
    scores: dict[str, dict[int, list[dict]]] = {}
    for fold in chosen:
        test = maps_of(f"net_f{fold}", fold)
        key = _digest([test["digest"], args.crop])
        thr_path = runs / "scores" / f"f{fold}_thresholding_{key}.json"
        thr_rows = _read_json(thr_path)
        if thr_rows is None:
            thr_rows = [bench.threshold_row(mode, test["maps"][mode], test["gt"],
                                            test["seconds"]["none" if mode == "none" else "tta"])
                        for mode in bench.TTA_MODES]
            _write_json(thr_path, thr_rows)
        inputs = None
        for overrides, config in configs:
            name = json.dumps(overrides, sort_keys=True)
            path = runs / "scores" / f"f{fold}_{_digest([key, config, args.graph_tta])}.json"
            graph_rows = _read_json(path)
            if graph_rows is None:
                if inputs is None:
                    inputs = [maps_of(net, g) for net, g in forest_maps(fold, args.folds)]
                classifier = fold_classifier(fold, config, inputs, args)
                seconds = test["seconds"]["none" if args.graph_tta == "none" else "tta"]
                graph_rows = [bench.graph_row(method, args.graph_tta,
                                              test["maps"][args.graph_tta], test["raw"],
                                              test["gt"], classifier, seconds,
                                              config=graph_config(config))
                              for method in bench.METHODS]
                _write_json(path, graph_rows)
            print(f"fold {fold} {name}: lifted multicut V_rand {lmc(graph_rows)['v_rand']:.4f}",
                  flush=True)
            scores.setdefault(name, {})[fold] = thr_rows + graph_rows

    ranking = {name: statistics.fmean(lmc(rows)["v_rand"] for rows in per_fold.values())
               for name, per_fold in scores.items()}
    selected = max(ranking, key=ranking.get)
    rows = summary_rows(scores[selected])
    nested = None
    if len(chosen) > 1:                                 # each fold scored with the others' choice
        nested = statistics.fmean(
            lmc(scores[max(ranking, key=lambda c: statistics.fmean(
                lmc(scores[c][g])["v_rand"] for g in chosen if g != f))][f])["v_rand"]
            for f in chosen)
    print_summary(rows, Path(args.config).stem, chosen)
    print(f"selected graph configuration {selected} (grid: " + ", ".join(
        f"{c} {v:.4f}" for c, v in ranking.items()) + ")")
    best = lmc(rows)
    targets = {"lmc_v_rand_mean_at_least_0.975": best["v_rand_mean"] >= TARGET_MEAN,
               "no_fold_below_0.96": min(best["v_rand_folds"]) >= TARGET_FOLD}
    print("targets: " + ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in targets.items()))
    line = json.dumps({
        "benchmark": "isbi2012_folds", "data": str(root), "config": str(args.config),
        "set": args.set,
        "folds": args.folds, "fold_ids": chosen,
        "fold_sections": [[f.start, f.stop] for f in folds], "iterations": args.iterations,
        "crop": args.crop, "graph_tta": args.graph_tta, "networks": records,
        "selected": json.loads(selected),
        "grid": [{"overrides": json.loads(c), "lmc_v_rand_mean": round(v, 6)}
                 for c, v in ranking.items()],
        "rows": [{k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()}
                 for r in rows],
        "nested_lmc_v_rand": None if nested is None else round(nested, 6),
        "targets": targets, "minutes": round((time.perf_counter() - started) / 60, 2)})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")
