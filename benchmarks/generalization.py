"""Accuracy on images we never tuned on: the out-of-distribution protocol we report and select on
(DSB ``val`` is for early stopping only).

    python benchmarks/generalization.py groups [--write]
    python benchmarks/generalization.py degrade --model default|CKPT [--kinds signal blur ...]
    python benchmarks/generalization.py logo --recipe configs/default_v2.yaml --runs DIR
                                        [--iterations N] [--folds 0 1 ...] [--train]
                                        [--peer-labels DIR]
    python benchmarks/generalization.py polarity --model default|CKPT
    python benchmarks/generalization.py ctc-cross --recipe configs/default_v2.yaml --runs DIR
                                        [--iterations N] [--held-out NAME ...] [--train]

``groups``: DSB 2018's 664 images grouped by acquisition. Rule (deterministic, from pixels and
labels): modality (:func:`microseg.data.modality.guess_modality`) × image shape, and a (modality,
shape) cell of more than :data:`SPLIT_ABOVE` images is split further by the median nucleus
diameter of each image (magnification): small < 14 px ≤ medium ≤ 28 px < large. Groups go to
:data:`FOLDS` folds, largest first, each to the fold holding the fewest images of the same
modality, then the fewest images overall (so a fold's training set keeps every modality where
the data allow). ``--write`` stores the table in ``benchmarks/dsb2018_groups.csv`` (ids only,
no data).

``degrade``: robustness sweeps. Each DSB ``val`` fluorescence image (and each Fluo-N2DH-SIM+
frame 50–64, dense ground truth, frames no bundled model trained on) is degraded in its raw units
by :func:`microseg.data.degrade.degrade` at every level of a kind, segmented as a user runs it
(no flags), and scored: F1@0.5 per kind and level, and recall per brightness quintile
(:func:`microseg.metrics.recall_by_brightness`) on the clean and the signal × 0.25 images.
GOWT1 is left out: its ground truth is sparse, so false positives cannot be counted.

``logo``: leave-one-group-out. For every fold, a model is trained from scratch with ``--recipe``
(its DSB source only, its augmentation, model, loss, optimiser) for ``--iterations`` on the
images of the other folds (a seeded tenth of them for early stopping), and evaluated on the
held-out fold's images as a user runs it: F1@0.5, mean AP 0.5:0.95 and SEG per held-out group,
the mean over groups and the worst group of at least :data:`MIN_GROUP` images. ``--train`` trains
the folds that have no finished run (resuming an interrupted one); without it, existing
``DIR/fold<k>/best.pt`` are evaluated. ``--peer-labels DIR`` scores a peer's labels of the same
held-out images beside ours (StarDist: ``benchmarks/peers/stardist_logo.py``, its own venv, the
same folds and wall-time budget).

``polarity``: stain and polarity without a global rule. F1@0.5 per modality of the DSB ``val``
images as the model runs; without its bright-background inversion rule, i.e. what a user gets
when the rule misfires (dense H&E tissue whose median is dark is read as fluorescence); and on
the inverted image (every modality in the other polarity).

``ctc-cross``: cross-dataset on the Cell Tracking Challenge. The recipe is trained from scratch
without one CTC dataset (Fluo-N2DH-SIM+ or Fluo-N2DH-GOWT1; every other source kept) and tested
on every annotated frame of that dataset's sequence 01: SEG and recall, and F1@0.5 where the
ground truth is dense (SIM+; GOWT1's leaves nuclei unlabelled).

Every subcommand prints a table and one JSON line. Data root: ``$MICROSEG_DATA`` (default
``../shared/data``).
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from dsb2018 import data_root
from microseg.data.degrade import IDENTITY, KINDS, degrade
from microseg.data.modality import guess_modality
from microseg.data.rescale import median_diameter
from microseg.io.ctc import CTCSequence
from microseg.io.images import read_array, read_labels
from microseg.malloc import reexec_with_tuned_malloc
from microseg.metrics import combine, evaluate_arrays, match, recall_by_brightness
from microseg.pipelines.cells import segment
from microseg.pipelines.model import load_model

REPO = Path(__file__).resolve().parents[1]
GROUP_TABLE = REPO / "benchmarks" / "dsb2018_groups.csv"
FOLDS = 5
SPLIT_ABOVE = 100
MIN_GROUP = 10
LEVELS = {"signal": [1.0, 0.5, 0.25, 0.125], "gamma": [0.5, 0.75, 1.0, 1.5, 2.0],
          "blur": [0.0, 1.0, 2.0, 3.0], "scale": [0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0],
          "illumination": [0.0, 0.25, 0.5, 0.75], "spots": [0.0, 200.0, 800.0, 3200.0]}
SIM_FRAMES = range(50, 65)
#: CTC sets whose SEG ground truth leaves nuclei unlabelled: precision / F1 are not defined there.
SPARSE_GT = ("Fluo-N2DH-GOWT1",)


# --- groups ------------------------------------------------------------------------------------

def size_class(diameter: float) -> str:
    return "small" if diameter < 14 else ("medium" if diameter <= 28 else "large")


def dsb_groups() -> list[dict]:
    """One row per DSB image: id, split, modality, shape, median diameter, objects, group, fold."""
    folder = data_root() / "dsb2018"
    val = set((folder / "val.txt").read_text().split())
    rows = []
    for path in tqdm(sorted((folder / "images").glob("*.png")), desc="dsb2018 groups"):
        image = read_array(path)
        labels = read_labels(folder / "labels" / f"{path.stem}.tif")
        rows.append({"id": path.stem, "split": "val" if path.stem in val else "train",
                     "modality": guess_modality(image, str(path)),
                     "shape": f"{image.shape[0]}x{image.shape[1]}",
                     "diameter": round(median_diameter(labels), 2),
                     "objects": int(np.count_nonzero(np.unique(labels)))})
    cells = defaultdict(list)
    for row in rows:
        cells[(row["modality"], row["shape"])].append(row)
    for (modality, shape), members in cells.items():
        for row in members:
            row["group"] = f"{modality}/{shape}" + (
                f"/{size_class(row['diameter'])}" if len(members) > SPLIT_ABOVE else "")
    assign_folds(rows)
    return rows


def assign_folds(rows: list[dict]) -> None:
    """Largest group first, to the fold with the fewest images of its modality, then overall."""
    groups = defaultdict(list)
    for row in rows:
        groups[row["group"]].append(row)
    load = np.zeros(FOLDS, int)
    by_modality = defaultdict(lambda: np.zeros(FOLDS, int))
    for name in sorted(groups, key=lambda g: (-len(groups[g]), g)):
        members = groups[name]
        modality = members[0]["modality"]
        fold = min(range(FOLDS), key=lambda k: (by_modality[modality][k], load[k], k))
        load[fold] += len(members)
        by_modality[modality][fold] += len(members)
        for row in members:
            row["fold"] = fold


def read_groups() -> list[dict]:
    if not GROUP_TABLE.exists():
        raise SystemExit(f"{GROUP_TABLE} missing: run `python benchmarks/generalization.py "
                         f"groups --write` first")
    with GROUP_TABLE.open(newline="", encoding="utf-8") as handle:
        return [{**row, "fold": int(row["fold"])} for row in csv.DictReader(handle)]


def cmd_groups(args: argparse.Namespace) -> dict:
    rows = dsb_groups()
    if args.write:
        with GROUP_TABLE.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    summary = defaultdict(lambda: {"images": 0, "objects": 0, "val": 0})
    for row in rows:
        entry = summary[(row["fold"], row["group"])]
        entry["images"] += 1
        entry["objects"] += row["objects"]
        entry["val"] += row["split"] == "val"
    print(f"{'fold':>4}  {'group':<34} {'images':>6} {'val':>4} {'objects':>7}")
    for (fold, group), entry in sorted(summary.items()):
        print(f"{fold:>4}  {group:<34} {entry['images']:>6} {entry['val']:>4} "
              f"{entry['objects']:>7}")
    return {"groups": [{"fold": f, "group": g, **e} for (f, g), e in sorted(summary.items())]}


# --- degradation sweeps -----------------------------------------------------------------------

def sweep_sets() -> dict[str, list[tuple[str, np.ndarray, np.ndarray]]]:
    """``{set: [(name, raw image, labels)]}``: DSB val fluorescence, SIM+ frames 50–64."""
    folder = data_root() / "dsb2018"
    dsb = []
    for name in (folder / "val.txt").read_text().split():
        image = read_array(folder / "images" / f"{name}.png")
        if guess_modality(image) == "fluorescence":
            dsb.append((name, image, read_labels(folder / "labels" / f"{name}.tif")))
    sim = data_root() / "ctc" / "Fluo-N2DH-SIM+" / "01"
    frames = [(f"t{t:03d}", read_array(sim / f"t{t:03d}.tif"),
               read_labels(sim.parent / "01_GT" / "SEG" / f"man_seg{t:03d}.tif"))
              for t in SIM_FRAMES]
    return {"dsb-val-fluorescence": dsb, "sim+-50-64": frames}


def cmd_degrade(args: argparse.Namespace) -> dict:
    predictor = load_model(args.model, threads=args.threads)
    sets = sweep_sets()
    rows, brightness = [], []
    for set_name, items in sets.items():
        for kind in args.kinds:
            for level in LEVELS[kind]:
                matchings, recalls = [], None
                for index, (name, image, labels) in enumerate(items):
                    rng = np.random.default_rng([index, KINDS.index(kind), int(level * 1000)])
                    degraded, truth = degrade(image, labels, kind, level, rng)
                    predicted = segment(degraded, predictor)
                    matchings.append(match(truth, predicted, 0.5))
                    if kind == "signal" and level in (1.0, 0.25):
                        found = recall_by_brightness(truth, predicted, degraded)
                        recalls = found if recalls is None else recalls + found
                total = combine(matchings)
                rows.append({"set": set_name, "kind": kind, "level": level,
                             "f1": round(total.f1, 4), "recall": round(total.recall, 4),
                             "precision": round(total.precision, 4)})
                print(f"{set_name:<22} {kind:<13} {level:>7g}  F1 {total.f1:.4f}  "
                      f"P {total.precision:.4f}  R {total.recall:.4f}", flush=True)
                if recalls is not None:
                    brightness.append({"set": set_name, "signal": level,
                                       "recall_by_quintile": [round(float(r), 4)
                                                              for r in recalls.recall],
                                       "objects": recalls.total.tolist()})
    print("\nrecall by brightness quintile (dimmest first)")
    for entry in brightness:
        print(f"{entry['set']:<22} signal {entry['signal']:<5g} "
              + "  ".join(f"{r:.3f}" for r in entry["recall_by_quintile"]))
    return {"model": args.model, "rows": rows, "brightness": brightness}


# --- leave one group out ----------------------------------------------------------------------

def fold_config(recipe: dict, fold: int, groups: list[dict], runs: Path,
                iterations: int) -> Path:
    """Write fold ``fold``'s id lists and training config under ``runs`` → the config path."""
    folder = runs / f"fold{fold}"
    folder.mkdir(parents=True, exist_ok=True)
    train = sorted(row["id"] for row in groups if row["fold"] != fold)
    rng = np.random.default_rng(fold)
    stop = set(rng.choice(train, size=max(1, len(train) // 10), replace=False))
    (folder / "train.txt").write_text("\n".join(i for i in train if i not in stop) + "\n")
    (folder / "stop.txt").write_text("\n".join(sorted(stop)) + "\n")
    sources = [s for s in recipe["data"]["sources"] if s.get("name") == "dsb2018"]
    if len(sources) != 1:
        raise SystemExit("the recipe needs exactly one source named dsb2018")
    source = {**sources[0], "ids": {"train": str(folder / "train.txt"),
                                    "val": str(folder / "stop.txt")}}
    config = {key: value for key, value in recipe.items() if key not in ("init", "output")}
    config["data"] = {**recipe["data"], "sources": [source]}
    config["scheme"] = {"name": "mix"}           # one dataset: every scheme draws the same
    config["iterations"] = iterations
    config["validation"] = {**recipe.get("validation", {}), "select": None}
    config["output"] = str(folder)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def train_fold(config: Path, threads: int) -> None:
    folder = config.parent
    if (folder / "best.pt").exists() and (folder / "done").exists():
        return
    command = [sys.executable, "-m", "microseg", "train", str(config), "--out", str(folder),
               "--threads", str(threads)]
    if (folder / "last.pt").exists():
        command += ["--resume", str(folder / "last.pt")]
    if subprocess.run(command).returncode != 0:
        raise SystemExit(f"training {config} failed (see the error above); rerun to resume")
    (folder / "done").write_text("trained\n")


def score_fold(fold: int, groups: list[dict], predict, label: str) -> list[dict]:
    """F1@0.5, mean AP and SEG of ``predict(name, image) → labels`` per held-out group."""
    folder = data_root() / "dsb2018"
    held_out = defaultdict(list)
    for row in groups:
        if row["fold"] == fold:
            held_out[row["group"]].append(row["id"])
    rows = []
    for group, ids in sorted(held_out.items()):
        triples = []
        for name in tqdm(ids, desc=f"{label} fold {fold} {group}", unit="image"):
            image = read_array(folder / "images" / f"{name}.png")
            truth = read_labels(folder / "labels" / f"{name}.tif")
            triples.append((name, truth, predict(name, image)))
        overall = evaluate_arrays(triples, ("f1", "ap", "seg")).overall
        rows.append({"method": label, "fold": fold, "group": group, "images": len(ids),
                     "f1": overall["f1"], "map": overall["map"], "seg": overall["seg"]})
    return rows


def cmd_logo(args: argparse.Namespace) -> dict:
    groups = read_groups()
    recipe = yaml.safe_load(Path(args.recipe).read_text(encoding="utf-8"))
    runs = Path(args.runs).expanduser()
    per_group = []
    for fold in args.folds:
        config = fold_config(recipe, fold, groups, runs, args.iterations)
        if args.train:
            train_fold(config, args.threads)
        checkpoint = config.parent / "best.pt"
        if checkpoint.exists():
            predictor = load_model(str(checkpoint), threads=args.threads)
            per_group += score_fold(fold, groups, lambda n, image: segment(image, predictor),
                                    "microseg")
        else:
            print(f"fold {fold}: no {checkpoint} (train with --train)")
        if args.peer_labels:
            peer = Path(args.peer_labels).expanduser() / f"fold{fold}" / "labels"
            if peer.is_dir():
                per_group += score_fold(fold, groups,
                                        lambda n, image: read_labels(peer / f"{n}.tif"),
                                        "stardist")
            else:
                print(f"fold {fold}: no peer labels in {peer}")
    return summarise_logo(per_group, args)


def cmd_polarity(args: argparse.Namespace) -> dict:
    """F1@0.5 per modality of DSB val: as the model runs, without its bright-background rule (as
    when the rule misfires on dense tissue), and on the inverted image (the other polarity).
    ``he-quarters``: the four quarters of every H&E-like image, smaller fields in which dense
    tissue leaves less bright background."""
    folder = data_root() / "dsb2018"
    predictor = load_model(args.model, threads=args.threads)
    as_is = predictor.normalization
    no_rule = dataclasses.replace(as_is, dark_background=False)
    items = []
    for name in (folder / "val.txt").read_text().split():
        image = read_array(folder / "images" / f"{name}.png")
        labels = read_labels(folder / "labels" / f"{name}.tif")
        modality = guess_modality(image)
        items.append((modality, name, image, labels))
        if modality == "he":
            h, w = labels.shape[0] // 2, labels.shape[1] // 2
            items += [("he-quarters", name, image[y:y + h, x:x + w], labels[y:y + h, x:x + w])
                      for y in (0, h) for x in (0, w)]
    rows = []
    for condition in ("as-is", "no-rule", "inverted"):
        predictor.normalization = no_rule if condition == "no-rule" else as_is
        matchings = defaultdict(list)
        for modality, name, image, truth in tqdm(items, desc=condition, unit="image"):
            shown = np.iinfo(image.dtype).max - image if condition == "inverted" else image
            found = match(truth, segment(shown, predictor), 0.5)
            matchings[modality].append(found)
            if modality != "he-quarters":
                matchings["all"].append(found)
        for modality, found in matchings.items():
            rows.append({"condition": condition, "modality": modality, "images": len(found),
                         "f1": round(combine(found).f1, 4)})
    predictor.normalization = as_is
    print(f"{'condition':<10} {'modality':<13} {'images':>6} {'F1@0.5':>7}")
    for row in rows:
        print(f"{row['condition']:<10} {row['modality']:<13} {row['images']:>6} {row['f1']:>7.4f}")
    return {"model": args.model, "rule": as_is.dark_background, "rows": rows}


def cross_config(recipe: dict, held_out: str, runs: Path, iterations: int) -> Path:
    """Write the config that trains ``recipe`` without CTC dataset ``held_out`` → its path."""
    folder = runs / f"without-{held_out}"
    folder.mkdir(parents=True, exist_ok=True)
    names = [s.get("name") for s in recipe["data"]["sources"]]
    if held_out not in names:
        raise SystemExit(f"the recipe has no source named {held_out}")
    sources = [s for s in recipe["data"]["sources"] if s.get("name") != held_out]
    config = {key: value for key, value in recipe.items() if key not in ("init", "output")}
    config["data"] = {**recipe["data"], "sources": sources}
    scheme = dict(recipe.get("scheme") or {})
    if "repeats" in scheme:                      # one entry per source: drop the held-out one
        scheme["repeats"] = [r for r, n in zip(scheme["repeats"], names) if n != held_out]
        config["scheme"] = scheme
    config["iterations"] = iterations
    select = recipe.get("validation", {}).get("select")
    config["validation"] = {**recipe.get("validation", {}),
                            "select": [n for n in select if n != held_out] if select else None}
    config["output"] = str(folder)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def cmd_ctc_cross(args: argparse.Namespace) -> dict:
    recipe = yaml.safe_load(Path(args.recipe).read_text(encoding="utf-8"))
    runs = Path(args.runs).expanduser()
    rows = []
    for held_out in args.held_out:
        config = cross_config(recipe, held_out, runs, args.iterations)
        if args.train:
            train_fold(config, args.threads)
        checkpoint = config.parent / "best.pt"
        if not checkpoint.exists():
            print(f"without {held_out}: no {checkpoint} (train with --train)")
            continue
        predictor = load_model(str(checkpoint), threads=args.threads)
        sequence = CTCSequence(data_root() / "ctc" / held_out / "01")
        triples = []
        for t in tqdm(sequence.gt.seg_frames, desc=f"{held_out} (never trained on)"):
            frame = sequence.frame(t)
            triples.append((f"t{t:03d}", frame.seg, segment(frame.image, predictor)))
        overall = evaluate_arrays(triples, ("f1", "seg")).overall
        rows.append({"held_out": held_out, "frames": len(triples),
                     "sparse_gt": held_out in SPARSE_GT, "recall": overall["recall"],
                     "f1": None if held_out in SPARSE_GT else overall["f1"],
                     "seg": overall["seg"]})
    print(f"{'held out':<18} {'frames':>6} {'recall':>7} {'F1@0.5':>7} {'SEG':>7}")
    for row in rows:
        f1 = "sparse" if row["f1"] is None else f"{row['f1']:.4f}"
        print(f"{row['held_out']:<18} {row['frames']:>6} {row['recall']:>7.4f} {f1:>7} "
              f"{row['seg']:>7.4f}")
    return {"recipe": args.recipe, "iterations": args.iterations, "rows": rows}


def summarise_logo(per_group: list[dict], args: argparse.Namespace) -> dict:
    print(f"{'method':<9} {'fold':>4}  {'group':<34} {'images':>6} {'F1@0.5':>7} {'mAP':>7} "
          f"{'SEG':>7}")
    for row in per_group:
        print(f"{row['method']:<9} {row['fold']:>4}  {row['group']:<34} {row['images']:>6} "
              f"{row['f1']:>7.4f} {row['map']:>7.4f} {row['seg']:>7.4f}")
    summary = {}
    for method in sorted({row["method"] for row in per_group}):
        rows = [row for row in per_group if row["method"] == method]
        entry = {f"mean_{key}": float(np.mean([r[key] for r in rows]))
                 for key in ("f1", "map", "seg")}
        large = [row for row in rows if row["images"] >= MIN_GROUP]
        if large:
            worst = min(large, key=lambda r: r["f1"])
            entry.update(worst_group=worst["group"], worst_f1=worst["f1"])
        summary[method] = entry
        print(f"{method}: mean over {len(rows)} groups F1 {entry['mean_f1']:.4f} mAP "
              f"{entry['mean_map']:.4f} SEG {entry['mean_seg']:.4f}"
              + (f"; worst group of ≥ {MIN_GROUP} images {worst['group']} F1 "
                 f"{worst['f1']:.4f}" if large else ""))
    return {"recipe": args.recipe, "iterations": args.iterations, "groups": per_group,
            "summary": summary}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    groups = commands.add_parser("groups", help="DSB acquisition groups and folds")
    groups.add_argument("--write", action="store_true", help=f"write {GROUP_TABLE.name}")
    sweep = commands.add_parser("degrade", help="robustness sweeps")
    sweep.add_argument("--model", default="default")
    sweep.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    logo = commands.add_parser("logo", help="leave-one-group-out training and evaluation")
    logo.add_argument("--recipe", required=True, help="training config whose recipe each fold uses")
    logo.add_argument("--runs", required=True, help="folder for the folds' runs (outside the repo)")
    logo.add_argument("--iterations", type=int, default=6000, help="budget per fold")
    logo.add_argument("--folds", type=int, nargs="+", default=list(range(FOLDS)))
    logo.add_argument("--train", action="store_true", help="train folds without a finished run")
    logo.add_argument("--peer-labels", metavar="DIR",
                      help="score a peer's held-out labels DIR/fold<k>/labels/<id>.tif "
                           "(benchmarks/peers/stardist_logo.py) beside ours")
    cross = commands.add_parser("ctc-cross", help="train without a CTC dataset, test on it")
    cross.add_argument("--recipe", required=True)
    cross.add_argument("--runs", required=True)
    cross.add_argument("--iterations", type=int, default=6000)
    cross.add_argument("--held-out", nargs="+", default=["Fluo-N2DH-SIM+", "Fluo-N2DH-GOWT1"])
    cross.add_argument("--train", action="store_true")
    polarity = commands.add_parser("polarity", help="both polarities, with and without the rule")
    polarity.add_argument("--model", default="default")
    for sub in (groups, sweep, logo, cross, polarity):
        sub.add_argument("--threads", type=int, default=2, help="CPU threads for training and "
                         "inference")
        sub.add_argument("--json", metavar="FILE", help="also write the JSON line to FILE")
    args = parser.parse_args(argv)
    reexec_with_tuned_malloc([sys.executable, *sys.argv])
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = {"groups": cmd_groups, "degrade": cmd_degrade, "logo": cmd_logo,
              "ctc-cross": cmd_ctc_cross, "polarity": cmd_polarity}[args.command](args)
    line = json.dumps({"benchmark": f"generalization.{args.command}", **result,
                       "seconds": round(time.perf_counter() - start, 1)})
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
