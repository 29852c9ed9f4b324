"""Load every dataset of the data root through ``microseg.io`` and print one line per dataset.

Usage: ``python benchmarks/load_all.py`` (data root from ``MICROSEG_DATA``, default
``../shared/data`` beside the repository). Exits 1 when a dataset fails to load, 0 otherwise.
Datasets that are absent, or that need a package that is not installed (plant3d needs h5py), are
reported as skipped.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from microseg.errors import InputError
from microseg.io import (CTCSequence, find_sequences, isbi_items, read_array, read_em_stack,
                         read_labels)
from microseg.io.folders import pair_by_stem, read_id_list, read_pair

REPO = Path(__file__).resolve().parents[1]


class Skip(Exception):
    """A dataset that cannot be loaded here for a reason that is not a bug."""


def n_objects(labels: np.ndarray) -> int:
    """Number of distinct non-zero ids."""
    return int(np.count_nonzero(np.bincount(labels.ravel())[1:]))


def describe_shapes(shapes: Iterable[tuple[int, ...]]) -> str:
    unique = sorted(set(shapes), key=lambda s: (int(np.prod(s)), s))
    text = [("×".join(map(str, s))) for s in unique]
    if len(text) <= 3:
        return ", ".join(text)
    return f"{len(text)} shapes from {text[0]} to {text[-1]}"


def load_dsb(root: Path, split: str) -> str:
    folder = root / "dsb2018"
    ids = read_id_list(folder / f"{split}.txt")
    pairs = pair_by_stem(folder / "images", folder / "labels", ids)
    shapes, objects = [], 0
    for image_path, label_path in pairs:
        image, labels = read_pair(image_path, label_path)
        shapes.append(image.shape)
        objects += n_objects(labels)
    return f"{len(pairs)} images, shapes {describe_shapes(shapes)}, {objects} objects"


def load_isbi_train(root: Path) -> str:
    items = isbi_items(root / "isbi2012" / "train")
    shapes, objects = [], 0
    for item in items:
        image, labels = item.load()
        shapes.append(image.shape)
        objects += n_objects(labels)
    return (f"{len(items)} slices, shapes {describe_shapes(shapes)}, {objects} objects "
            f"(4-connected interiors per slice)")


def load_isbi_test(root: Path) -> str:
    stack = read_em_stack(root / "isbi2012" / "test" / "images")
    return (f"{stack.shape[0]} slices, stack {describe_shapes([stack.shape])} {stack.dtype}, "
            f"no labels")


def load_ctc_sequence(seq: CTCSequence) -> str:
    shapes, dtypes, seg_objects, tra_objects = [], set(), 0, 0
    for frame in seq:
        shapes.append(frame.image.shape)
        dtypes.add(str(frame.image.dtype))
        if frame.seg is not None:
            seg_objects += n_objects(frame.seg)
        seg_objects += sum(n_objects(s) for s in frame.seg_slices.values())
        if frame.tra is not None:
            tra_objects += n_objects(frame.tra)
    text = f"{len(seq)} frames, shapes {describe_shapes(shapes)} {'/'.join(sorted(dtypes))}"
    if seq.gt is not None:
        tracks = seq.gt.tracks
        text += (f"; GT SEG on {len(seq.gt.seg_frames)} frames ({seg_objects} objects), "
                 f"TRA on {len(seq.gt.tra_frames)} frames ({tra_objects} markers)")
        if tracks is not None:
            children = int(np.sum(tracks[:, 3] > 0))
            text += f", man_track {len(tracks)} tracks / {children} with parent"
    if seq.silver is not None:
        text += f"; ST SEG on {len(seq.silver.seg_frames)} frames"
    return text


def load_stack_pair(image_path: Path, label_path: Path | None) -> str:
    image = read_array(image_path)
    text = f"image {describe_shapes([image.shape])} {image.dtype}"
    if label_path is not None:
        labels = read_labels(label_path)
        if labels.shape != image.shape:
            raise InputError(label_path, f"shape {labels.shape} differs from image {image.shape}")
        text += f", labels {labels.dtype}, {n_objects(labels)} distinct ids"
    return text


def load_plant3d(root: Path) -> str:
    if importlib.util.find_spec("h5py") is None:
        raise Skip("h5py is not installed; `pip install h5py` to read the HDF5 crops")
    import h5py

    files = sorted((root / "plant3d").rglob("*.h5"))
    shapes, objects = [], 0
    for file in files:
        with h5py.File(file, "r") as h5:
            raw, labels = np.asarray(h5["raw"]), np.asarray(h5["label"])
        shapes.append(raw.shape)
        objects += n_objects(labels.astype(np.int64))
    return f"{len(files)} volumes, shapes {describe_shapes(shapes)}, {objects} objects"


def datasets(root: Path) -> list[tuple[str, Callable[[], str]]]:
    jobs: list[tuple[str, Callable[[], str]]] = [
        ("dsb2018/train", lambda: load_dsb(root, "train")),
        ("dsb2018/val", lambda: load_dsb(root, "val")),
        ("isbi2012/train", lambda: load_isbi_train(root)),
        ("isbi2012/test", lambda: load_isbi_test(root)),
    ]
    for dataset in sorted((root / "ctc").iterdir()) if (root / "ctc").is_dir() else []:
        for seq in find_sequences(dataset):
            jobs.append((f"ctc/{dataset.name}/{seq.name}", lambda seq=seq: load_ctc_sequence(seq)))
    timelapse = root / "timelapse"
    for name in ("Fluo-N3DH-CHO_02", "Fluo_Hela_02"):
        jobs.append((f"timelapse/{name}", lambda name=name: load_stack_pair(
            timelapse / f"{name}_img.tif", timelapse / f"{name}_ERR_SEG.tif")))
    samples = root / "samples"
    jobs += [
        ("samples/stardist 2D", lambda: load_stack_pair(samples / "stardist" / "img2d.tif",
                                                        samples / "stardist" / "mask2d.tif")),
        ("samples/stardist 3D", lambda: load_stack_pair(samples / "stardist" / "img3d.tif",
                                                        samples / "stardist" / "mask3d.tif")),
        ("samples/stardist histo", lambda: load_stack_pair(samples / "stardist" / "histo.jpg",
                                                           None)),
        ("samples/nuclei3d", lambda: load_stack_pair(samples / "nuclei3d" / "nuclei.tif",
                                                     samples / "nuclei3d" / "nuclei_label.tif")),
        ("plant3d", lambda: load_plant3d(root)),
    ]
    return jobs


def main() -> int:
    root = Path(os.environ.get("MICROSEG_DATA", REPO.parent / "shared" / "data")).resolve()
    if not root.is_dir():
        print(f"data root {root} not found (set MICROSEG_DATA)")
        return 1
    print(f"data root: {root}")
    failed = 0
    start = time.perf_counter()
    for name, load in datasets(root):
        tic = time.perf_counter()
        try:
            line = load()
        except Skip as exc:
            line = f"skipped: {exc}"
        except InputError as exc:
            failed += 1
            line = f"FAILED: {exc}"
        print(f"{name:32s} {line}  [{time.perf_counter() - tic:.1f} s]", flush=True)
    print(f"total {time.perf_counter() - start:.1f} s, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
