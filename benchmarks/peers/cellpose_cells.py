"""Cellpose 3 trained from scratch on the whole-cell sets of ``configs/cells_model.yaml`` and run on
their held-out images: the peer rows of ``benchmarks/cells.py``. Runs in Cellpose's own venv (see
``requirements-cellpose.txt``); imports nothing from microseg.

    ~/peers/cellpose-venv/bin/python benchmarks/peers/cellpose_cells.py \\
        --cpu-minutes M --out DIR [--threads 2]

Recipe: Cellpose's own ``train_seg`` with its defaults (residual U-Net ``cyto``-style net, 2 input
channels with the second empty, images normalised to their 1 / 99 percentiles, cells rescaled to
a mean diameter of 30 px, 224² patches, random rotation / flip / scale, AdamW 0.005, weight decay
1e-5, batch 8), from random weights. Training data = the training images / frames of microseg's
``cells`` model: Usiigaci ``train`` (45 phase-contrast fields), DIC-C2DH-HeLa 01 frames 0–59
(silver truth), Fluo-C2DL-MSC 01 annotated frames 0–34; images drawn with probabilities 2 : 1 : 1
per set, as microseg's scheme. No held-out image is seen in training.

Budget: the flows of the training labels are computed once, outside the budget. ``train_seg``
has no time limit, so a calibration run of ``CALIBRATION_EPOCHS`` epochs
(``IMAGES_PER_EPOCH`` images each) measures the CPU time of an epoch, and the run trains for as
many epochs as fit in ``--cpu-minutes`` of CPU time of the process (all its threads; microseg's
``cells`` model: 6,000 iterations ≈ 60 CPU-minutes). At evaluation each set's images get the
median cell diameter of that set's training labels (what a Cellpose user types as ``diameter``).
Labels go to ``DIR/<set>/<image>.tif``; timings to ``DIR/timing.txt``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
IMAGES_PER_EPOCH = 64
CALIBRATION_EPOCHS = 3
#: set → (images, labels) lister for a split; frame ranges as configs/cells_model.yaml.
CTC = {"DIC-C2DH-HeLa": ("01_ST", (0, 60), (60, 84)), "Fluo-C2DL-MSC": ("01_GT", (0, 35), (35, 48))}
WEIGHTS = {"usiigaci": 2.0, "DIC-C2DH-HeLa": 1.0, "Fluo-C2DL-MSC": 1.0}


def data_root() -> Path:
    return Path(os.environ.get("MICROSEG_DATA", REPO.parent / "shared" / "data"))


def pairs(set_name: str, split: str) -> list[tuple[str, Path, Path]]:
    """(image name, image path, label path) of a set's ``train`` or ``val`` split."""
    root = data_root()
    if set_name == "usiigaci":
        folder = root / "usiigaci"
        names = (folder / f"{split}.txt").read_text(encoding="utf-8").split()
        return [(n, folder / "images" / f"{n}.png", folder / "labels" / f"{n}.tif") for n in names]
    truth, train, val = CTC[set_name]
    start, stop = train if split == "train" else val
    sequence = root / "ctc" / set_name
    found = []
    for label in sorted((sequence / truth / "SEG").glob("man_seg*.tif")):
        t = int(label.stem.removeprefix("man_seg"))
        if start <= t < stop:
            found.append((f"t{t:03d}", sequence / "01" / f"t{t:03d}.tif", label))
    return found


def median_diameter(labels: list[np.ndarray]) -> float:
    """Median equivalent-circle diameter of all objects (px)."""
    areas = np.concatenate([np.bincount(lab.ravel())[1:] for lab in labels])
    return float(np.median(2.0 * np.sqrt(areas[areas > 0] / np.pi)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-minutes", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, help="at most this many training images per set "
                        "(a quick check of the plumbing)")
    args = parser.parse_args()
    import imageio.v3 as iio
    import tifffile
    import torch
    from cellpose import dynamics, models, train

    torch.set_num_threads(args.threads)

    def read(path: Path) -> np.ndarray:
        image = iio.imread(path) if path.suffix == ".png" else tifffile.imread(path)
        return image[..., :3].mean(axis=-1) if image.ndim == 3 else image

    images, labels, probs, diameters = [], [], [], {}
    for set_name, weight in WEIGHTS.items():
        members = pairs(set_name, "train")[:args.limit]
        set_labels = [tifffile.imread(label).astype(np.int32) for _, _, label in members]
        images += [read(path).astype(np.float32) for _, path, _ in members]
        labels += set_labels
        probs += [weight / len(members)] * len(members)
        diameters[set_name] = median_diameter(set_labels)
    probs = np.asarray(probs) / np.sum(probs)
    flows = dynamics.labels_to_flows(labels, device=torch.device("cpu"))  # once, outside the budget
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def fit(epochs: int, name: str) -> tuple[models.CellposeModel, float]:
        model = models.CellposeModel(gpu=False, pretrained_model=False, diam_mean=30.0, nchan=2)
        start = time.process_time()
        train.train_seg(model.net, train_data=images, train_labels=flows, train_probs=probs,
                        channels=[0, 0], n_epochs=epochs, nimg_per_epoch=IMAGES_PER_EPOCH,
                        save_path=str(out), model_name=name, min_train_masks=1)
        return model, time.process_time() - start

    _, calibration = fit(CALIBRATION_EPOCHS, "calibration")
    epochs = max(1, int(60 * args.cpu_minutes / (calibration / CALIBRATION_EPOCHS)))
    model, trained_cpu = fit(epochs, "cellpose_cells")
    start = time.monotonic()
    for set_name in WEIGHTS:
        (out / set_name).mkdir(exist_ok=True)
        for name, path, _ in pairs(set_name, "val"):
            masks = model.eval(read(path).astype(np.float32), channels=[0, 0],
                               diameter=diameters[set_name])[0]
            tifffile.imwrite(out / set_name / f"{name}.tif", masks.astype(np.uint16))
    (out / "timing.txt").write_text(
        f"epochs {epochs}\ntrain_cpu_s {trained_cpu:.0f}\ncalibration_cpu_s {calibration:.0f}\n"
        f"predict_s {time.monotonic() - start:.0f}\n"
        + "".join(f"diameter {k} {v:.1f}\n" for k, v in diameters.items()), encoding="utf-8")


if __name__ == "__main__":
    main()
