"""Time ``microseg.measure.measure`` against ``skimage.measure.regionprops_table`` on synthetic
2048 × 2048 nuclei: dense (coverage 0.3, ~6,000 objects) and sparse (coverage 0.05).

    .venv/bin/python benchmarks/measure_speed.py [--repeats 10] [--shape 2048 2048]

Prints a table and one JSON line: median seconds of ``measure`` (labels + one intensity channel,
every column), of writing its CSV, and of regionprops_table for the same columns without and with
solidity; the largest difference between the two tables; and the start-up cost of the first 2D
and 3D call, measured in fresh processes with an empty numba cache (compile) and again with that
cache filled (cache load). The in-process timings exclude it (a warm-up call comes first).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from skimage.measure import regionprops_table

from microseg.data.synthetic import generate
from microseg.measure import measure, write_measurements_csv

SIMPLE = ("label", "area", "centroid", "bbox", "intensity_mean", "intensity_max",
          "equivalent_diameter_area", "eccentricity")
SAME = {"label": "label", "area": "area", "centroid_y": "centroid-0", "centroid_x": "centroid-1",
        "bbox_min_y": "bbox-0", "bbox_min_x": "bbox-1", "bbox_max_y": "bbox-2",
        "bbox_max_x": "bbox-3", "mean_intensity_c0": "intensity_mean",
        "max_intensity_c0": "intensity_max", "equivalent_diameter": "equivalent_diameter_area",
        "eccentricity": "eccentricity", "solidity": "solidity"}
IMPORT = ("import time; start = time.perf_counter(); import numpy as np; "
          "from microseg.measure import measure; ")
FIRST_CALL = {2: "measure(np.ones((3, 3), np.uint8)); ",
              3: "measure(np.pad(np.ones((3, 3, 3), np.uint8), 1)); "}
PRINT = "print(time.perf_counter() - start)"


def seconds(function, repeats: int) -> float:
    """Median wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def startup_seconds() -> dict[str, float]:
    """Extra seconds of the first 2D and first 3D call in a fresh process over the import alone:
    with an empty numba cache (compile) and with the cache that run left (load). The 3D figures
    include importing ``scipy.spatial``."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}

        def run(code: str) -> float:
            out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                 capture_output=True, text=True)
            return float(out.stdout.strip().splitlines()[-1])

        import_s = run(IMPORT + PRINT)
        result = {"import_s": round(import_s, 3)}
        for ndim, call in FIRST_CALL.items():
            result[f"numba_compile_{ndim}d_s"] = round(run(IMPORT + call + PRINT) - import_s, 3)
            result[f"numba_cache_load_{ndim}d_s"] = round(run(IMPORT + call + PRINT) - import_s, 3)
    return result


def run_case(name: str, coverage: float, shape: tuple[int, int], repeats: int,
             out_dir: Path) -> dict:
    sample = generate("nuclei2d", seed=0, shape=shape, coverage=coverage)
    image, labels = sample.image, sample.labels
    table = measure(labels, image)  # warm-up (numba already loaded)
    ours = seconds(lambda: measure(labels, image), repeats)
    csv_path = out_dir / f"{name}.csv"
    write = seconds(lambda: write_measurements_csv(csv_path, table), repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        reference = regionprops_table(labels, image, properties=SIMPLE)
        simple = time.perf_counter() - start
        start = time.perf_counter()
        reference.update(regionprops_table(labels, properties=("solidity",)))
        solidity = time.perf_counter() - start
    differences = {column: float(np.max(np.abs(table[column] - reference[other]), initial=0))
                   for column, other in SAME.items()}
    megapixels = labels.size / 1e6
    return {"case": name, "coverage": coverage, "shape": list(shape),
            "objects": int(table["label"].size), "measure_s": round(ours, 4),
            "write_csv_s": round(write, 4), "measure_mpx_per_s": round(megapixels / ours, 1),
            "regionprops_simple_s": round(simple, 3), "regionprops_solidity_s": round(solidity, 3),
            "speedup": round((simple + solidity) / ours, 1),
            "max_abs_difference": max(differences.values()),
            "worst_column": max(differences, key=differences.get)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--shape", type=int, nargs=2, default=(2048, 2048))
    args = parser.parse_args()
    startup = startup_seconds()
    measure(np.ones((3, 3), np.uint8))  # numba load in this process, outside the timings
    with tempfile.TemporaryDirectory() as out_dir:
        rows = [run_case(name, coverage, tuple(args.shape), args.repeats, Path(out_dir))
                for name, coverage in (("dense", 0.3), ("sparse", 0.05))]
    print(f"{'case':<8}{'objects':>8}{'measure s':>11}{'MPx/s':>8}{'csv s':>8}"
          f"{'skimage s':>11}{'+solidity s':>13}{'speedup':>9}{'max diff':>10}")
    for row in rows:
        print(f"{row['case']:<8}{row['objects']:>8}{row['measure_s']:>11.4f}"
              f"{row['measure_mpx_per_s']:>8.1f}{row['write_csv_s']:>8.4f}"
              f"{row['regionprops_simple_s']:>11.3f}{row['regionprops_solidity_s']:>13.3f}"
              f"{row['speedup']:>9.1f}{row['max_abs_difference']:>10.1e}")
    print(f"first call over import ({startup['import_s']} s): 2D compile "
          f"{startup['numba_compile_2d_s']} s / cached {startup['numba_cache_load_2d_s']} s; "
          f"3D compile {startup['numba_compile_3d_s']} s / cached "
          f"{startup['numba_cache_load_3d_s']} s")
    print(json.dumps({"benchmark": "measure_speed", "repeats": args.repeats,
                      "cpu_count": os.cpu_count(), **startup, "cases": rows}))


if __name__ == "__main__":
    main()
