"""Time every training target on one core: a 512×512 image with 300 cells and a 32×128×128
stack with 100 cells (seeds grown by a fixed distance: touching and lone cells).

    .venv/bin/python benchmarks/targets_speed.py [--repeats 20]

Prints a table (median milliseconds per call) and one JSON line. Budget: 50 ms per 2D call.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from skimage.segmentation import expand_labels  # noqa: E402

from microseg import targets  # noqa: E402

BUDGET_MS = 50.0


def cells(shape: tuple[int, ...], n: int, distance: float, seed: int = 0) -> np.ndarray:
    """``n`` seeds at distinct random positions, grown by ``distance`` pixels."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros(shape, np.uint16)
    seeds.ravel()[rng.choice(seeds.size, n, replace=False)] = np.arange(1, n + 1)
    return expand_labels(seeds, distance)


def median_ms(function, argument, repeats: int) -> float:
    function(argument)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def single_thread() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    single_thread()
    cases = {"2d": cells((512, 512), 300, 14), "3d": cells((32, 128, 128), 100, 7, seed=1)}
    results = {}
    print(f"{'target':<16}{'2D 512² ms':>12}{'3D 32×128² ms':>16}")
    for name in targets.available():
        target = targets.build(name)
        row = {case: round(median_ms(target, labels, args.repeats), 2)
               for case, labels in cases.items()}
        results[name] = row
        print(f"{name:<16}{row['2d']:>12.2f}{row['3d']:>16.2f}")
    over = [name for name, row in results.items() if row["2d"] > BUDGET_MS]
    summary = {"benchmark": "targets_speed", "threads": 1, "repeats": args.repeats,
               "cells_2d": int(len(np.unique(cases["2d"])) - 1),
               "cells_3d": int(len(np.unique(cases["3d"])) - 1),
               "budget_ms_2d": BUDGET_MS, "over_budget": over, "median_ms": results}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
