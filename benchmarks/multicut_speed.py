"""Speed and memory of the multicut / lifted multicut solvers on grid-like region graphs.

    .venv/bin/python benchmarks/multicut_speed.py [--edges 1e4 1e5 1e6] [--distance 2]
                                                 [--solvers gaec kl hierarchical]

Each problem is a 2D grid graph (nodes = pixels of a square, local edges between 4-neighbours,
about 1e4 / 1e5 / 1e6 of them) with a planted partition into Voronoi regions of ~200 nodes: local
costs +1 inside a region and -1 across, lifted costs (all node pairs 2..``distance`` steps apart)
+0.5 / -0.5, all plus Gaussian noise (sigma 1.5). Every solve runs in a fresh process that loads
the problem from disk and has the numba cache warm, so the figures are solve time and the peak
resident memory (``ru_maxrss``) of that process, with the memory of the loaded problem alone
reported beside it; the CPU seconds of the solve are reported too (on a shared machine they move
less than the wall-clock seconds). Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from microseg.post.graph import lifted_edges, lifted_multicut, lifted_multicut_objective, \
    multicut, multicut_objective


def grid_problem(n_edges: float, distance: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A planted-partition grid problem with about ``n_edges`` local edges (see module doc)."""
    rng = np.random.default_rng(seed)
    side = max(int(round(np.sqrt(n_edges / 2.0))), 3)
    index = np.arange(side * side).reshape(side, side)
    uv = np.concatenate([np.stack([index[:, :-1].ravel(), index[:, 1:].ravel()], 1),
                         np.stack([index[:-1].ravel(), index[1:].ravel()], 1)])
    coords = np.stack(np.divmod(np.arange(side * side), side), axis=1).astype(np.float64)
    seeds = rng.uniform(0, side, (max(side * side // 200, 2), 2))
    truth = cKDTree(seeds).query(coords)[1]
    start = time.perf_counter()
    lifted_uv, _ = lifted_edges(side * side, uv, distance)
    lifted_seconds = time.perf_counter() - start
    def noisy(pairs, strength):
        same = truth[pairs[:, 0]] == truth[pairs[:, 1]]
        return np.where(same, strength, -strength) + rng.normal(0.0, 1.5, len(pairs))
    return {"n_nodes": np.array(side * side), "uv": uv, "costs": noisy(uv, 1.0),
            "lifted_uv": lifted_uv, "lifted_costs": noisy(lifted_uv, 0.5), "coords": coords,
            "lifted_seconds": np.array(lifted_seconds)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def solve_case(path: str, solver: str, lifted: bool) -> dict:
    """Run in a child process: load the problem, warm up, solve once, measure."""
    tiny = (3, np.array([[0, 1], [1, 2]]), np.array([1.0, -1.0]))
    lifted_multicut(*tiny, np.array([[0, 2]]), np.array([1.0]), solver=solver)   # numba load
    data = dict(np.load(path))
    n = int(data["n_nodes"])
    options = {"node_coords": data["coords"], "block_shape": 64.0} \
        if solver == "hierarchical" else {}
    loaded = peak_rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    if lifted:
        labels = lifted_multicut(n, data["uv"], data["costs"], data["lifted_uv"],
                                 data["lifted_costs"], solver=solver, **options)
    else:
        labels = multicut(n, data["uv"], data["costs"], solver=solver, **options)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = peak_rss_mb()
    objective = lifted_multicut_objective(n, data["uv"], data["costs"], data["lifted_uv"],
                                          data["lifted_costs"], labels) if lifted \
        else multicut_objective(n, data["uv"], data["costs"], labels)
    return {"solver": solver, "lifted": lifted, "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu_seconds, 3),
            "peak_rss_mb": round(peak, 1), "loaded_rss_mb": round(loaded, 1),
            "objective": round(objective, 2), "clusters": int(labels.max()) + 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=float, nargs="+", default=[1e4, 1e5, 1e6])
    parser.add_argument("--distance", type=int, default=2, help="lifted edge graph distance")
    parser.add_argument("--solvers", nargs="+", default=["gaec", "kl", "hierarchical"])
    parser.add_argument("--case", nargs=3, metavar=("NPZ", "SOLVER", "LIFTED"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        path, solver, lifted = args.case
        print(json.dumps(solve_case(path, solver, lifted == "1")))
        return
    rows = []
    print(f"{'nodes':>9} {'local':>9} {'lifted':>9} {'solver':<13}{'seconds':>11} "
          f"{'CPU s':>9} {'peak RSS':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n_edges in args.edges:
            problem = grid_problem(n_edges, args.distance)
            path = str(Path(tmp) / f"grid_{int(n_edges)}.npz")
            np.savez(path, **problem)
            for lifted in (False, True):
                for solver in args.solvers:
                    out = subprocess.run([sys.executable, __file__, "--case", path, solver,
                                          "1" if lifted else "0"], check=True,
                                         capture_output=True, text=True)
                    row = json.loads(out.stdout.strip().splitlines()[-1])
                    row.update(nodes=int(problem["n_nodes"]), local_edges=len(problem["uv"]),
                               lifted_edges=len(problem["lifted_uv"]) if lifted else 0,
                               lifted_edges_s=round(float(problem["lifted_seconds"]), 3))
                    rows.append(row)
                    print(f"{row['nodes']:>9} {row['local_edges']:>9} {row['lifted_edges']:>9} "
                          f"{solver:<13}{row['seconds']:>9.2f} s {row['cpu_seconds']:>7.2f} s "
                          f"{row['peak_rss_mb']:>8.0f} MB "
                          f"(problem {row['loaded_rss_mb']:.0f} MB)  objective "
                          f"{row['objective']:.1f}", flush=True)
    print(json.dumps({"benchmark": "multicut_speed", "cpu_count": os.cpu_count(),
                      "distance": args.distance, "cases": rows}))


if __name__ == "__main__":
    main()
