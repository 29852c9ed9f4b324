"""StarDist 2D trained on one leave-one-group-out fold of DSB 2018 and run on its held-out images:
the peer column of ``benchmarks/generalization.py logo``. Runs in StarDist's own venv (see
``requirements-stardist.txt``); imports nothing from microseg.

    benchmarks/peers/.venv-stardist/bin/python benchmarks/peers/stardist_logo.py \\
        --fold K --cpu-minutes M --out DIR [--threads 2]

The recipe is StarDist's own DSB example (``examples/2D/2_training``): grey images normalised to
their 1 / 99.8 percentiles, label holes filled, 32 rays, grid (2, 2), 256² patches, flips /
rotations / intensity augmentation, then ``optimize_thresholds`` on the early-stopping images.
Train / early-stopping / held-out ids are those microseg's own fold uses
(``benchmarks/dsb2018_groups.csv``; early stopping on a seeded tenth of the training folds, drawn
exactly as ``generalization.py`` draws it). Training stops at the first epoch end after
``--cpu-minutes`` of CPU time of the process (all its threads): the budget holds on a shared
machine. microseg's fold (6,000 iterations) takes about 29 minutes on 2 threads, 58 CPU-minutes.
Held-out labels are written as ``DIR/fold<K>/labels/<id>.tif``,
scored by ``generalization.py logo --peer-labels DIR`` with microseg's metrics.
"""
from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GROUP_TABLE = REPO / "benchmarks" / "dsb2018_groups.csv"
LUMINANCE = np.array([0.299, 0.587, 0.114], np.float32)


def data_root() -> Path:
    return Path(os.environ.get("MICROSEG_DATA", REPO.parent / "shared" / "data"))


def grey(image: np.ndarray) -> np.ndarray:
    """RGB(A) → grey by luminance (as microseg's ``to_grey``), grey unchanged, float32."""
    if image.ndim == 3:
        return image[..., :3].astype(np.float32) @ LUMINANCE
    return image.astype(np.float32)


def fold_ids(fold: int) -> tuple[list[str], list[str], list[str]]:
    """(train, early stopping, held out) ids, as ``generalization.fold_config`` draws them."""
    with GROUP_TABLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    train = sorted(r["id"] for r in rows if int(r["fold"]) != fold)
    rng = np.random.default_rng(fold)
    stop = set(rng.choice(train, size=max(1, len(train) // 10), replace=False))
    held_out = sorted(r["id"] for r in rows if int(r["fold"]) == fold)
    return [i for i in train if i not in stop], sorted(stop), held_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold", type=int, required=True)
    parser.add_argument("--cpu-minutes", type=float, required=True,
                        help="training budget in CPU time of the process")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(args.threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    import imageio.v3 as iio
    import tensorflow as tf
    import tifffile
    from csbdeep.utils import normalize
    from stardist import fill_label_holes
    from stardist.models import Config2D, StarDist2D

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    folder = data_root() / "dsb2018"

    def load(ids: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        images = [normalize(grey(iio.imread(folder / "images" / f"{i}.png")), 1, 99.8)
                  for i in ids]
        labels = [fill_label_holes(tifffile.imread(folder / "labels" / f"{i}.tif")) for i in ids]
        return images, labels

    train, stop, held_out = fold_ids(args.fold)
    x_train, y_train = load(train)
    x_stop, y_stop = load(stop)

    def augmenter(x, y):
        """StarDist's example augmentation: dihedral, then intensity scale and shift, noise."""
        k = np.random.randint(4)
        x, y = np.rot90(x, k), np.rot90(y, k)
        for axis in (0, 1):
            if np.random.rand() < 0.5:
                x, y = np.flip(x, axis), np.flip(y, axis)
        x = x * np.random.uniform(0.6, 2) + np.random.uniform(-0.2, 0.2)
        x = x + 0.02 * np.random.uniform(0, 1) * np.random.normal(0, 1, x.shape)
        return x, y

    class CPUTimeLimit(tf.keras.callbacks.Callback):
        def __init__(self, seconds: float):
            super().__init__()
            self.deadline = time.process_time() + seconds

        def on_epoch_end(self, epoch, logs=None):
            if time.process_time() > self.deadline:
                self.model.stop_training = True

    out = Path(args.out) / f"fold{args.fold}"
    config = Config2D(n_rays=32, grid=(2, 2), n_channel_in=1, train_patch_size=(256, 256),
                      train_tensorboard=False)    # TensorBoard is not in its venv
    model = StarDist2D(config, name="stardist", basedir=str(out))
    model.prepare_for_training()
    model.callbacks.append(CPUTimeLimit(60 * args.cpu_minutes))
    start, start_cpu = time.monotonic(), time.process_time()
    model.train(x_train, y_train, validation_data=(x_stop, y_stop), augmenter=augmenter,
                epochs=10_000, steps_per_epoch=50)
    trained, trained_cpu = time.monotonic() - start, time.process_time() - start_cpu
    model.optimize_thresholds(x_stop, y_stop)
    labels_dir = out / "labels"
    labels_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    for name in held_out:
        image = normalize(grey(iio.imread(folder / "images" / f"{name}.png")), 1, 99.8)
        labels, _ = model.predict_instances(image)
        tifffile.imwrite(labels_dir / f"{name}.tif", labels.astype(np.uint16))
    (out / "timing.txt").write_text(f"train_s {trained:.0f}\ntrain_cpu_s {trained_cpu:.0f}\n"
                                    f"predict_s {time.monotonic() - start:.0f}\n")


if __name__ == "__main__":
    main()
