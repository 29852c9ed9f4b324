"""Blockwise segmentation on Dask (issue 35): memory, throughput, seams, determinism, a volume.

    python benchmarks/scale.py [--size 16384] [--seam-size 8192] [--memory-size 4096]
                               [--stack 64 1024 1024] [--workers 1 2] [--block PX]
                               [--cases mosaic memory seams stack] [--folder DIR]

Inputs are synthetic (``microseg.data.synthetic``), made by the bundled ``default`` model's
kind of data: ``nuclei2d`` tiles of 2048² (``--unique`` different seeds, repeated) laid out as a
``--size``² uint16 mosaic written tile by tile to an OME-Zarr image (never whole in memory); a
``nuclei3d`` stack of ``--stack`` voxels. Each case prints rows of a table; a JSON line closes.

- ``mosaic``: the mosaic segmented blockwise (default model, default blocks) on a
  ``distributed.LocalCluster`` of ``w`` worker processes of one thread, for each ``w`` of
  ``--workers``: seconds (and CPU seconds, workers and driver: the machine may be shared),
  megapixels per second, peak RSS of every worker and of the driver,
  and whether the label arrays of all worker counts are identical (determinism). Target: ≤ 2 GB
  per worker, ≥ 1.7× with 2 workers vs 1 (on as many free cores).
- ``memory``: a ``--memory-size``² crop of the mosaic, in memory (``ms.segment`` in a fresh
  process on one thread), blockwise on a one-worker LocalCluster, and blockwise with the default
  ``threads`` scheduler in a fresh process on one thread: seconds, peak RSS, throughput ratios.
  Target: blockwise within 20 % of the in-memory throughput. Every run is warmed up first
  (imports, model, compiled kernels; on a corner of the image).
- ``seams``: a ``--seam-size``² crop, blockwise (one worker) vs in memory: F1 at IoU 0.5 of
  the blockwise labels against the whole image's (target ≥ 0.995), and the objects whose
  boundary follows a block face: pairs of touching objects all of whose contact lies across a
  block face (an object cut in two by a face; target 0; the whole image's labels at the same
  lines as a baseline).
- ``stack``: the stack blockwise (2D model slice by slice, stitched) vs in memory: F1,
  seconds, peak RSS.

Peak RSS of a process is ``ru_maxrss`` (``resource.getrusage``) at its end; workers are fresh
processes for each run. The figures depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

TILE = 2048
KB = 1024


def make_mosaic(path: Path, size: int, unique: int) -> Path:
    """A ``size``² uint16 mosaic of ``nuclei2d`` tiles of :data:`TILE`² (``unique`` seeds,
    repeated) as an OME-Zarr image (one level), written tile by tile."""
    import dask
    import dask.array as da

    from microseg.data import synthetic
    from microseg.io.ngff import write_ngff_image

    if path.exists():
        return path

    @dask.delayed
    def tile(seed: int) -> np.ndarray:
        return synthetic.generate("nuclei2d", seed=seed, shape=(TILE, TILE), diameter=20).image

    tiles = [da.from_delayed(tile(seed), (TILE, TILE), np.uint16) for seed in range(unique)]
    count = -(-size // TILE)
    rows = [[tiles[(i * count + j) % unique] for j in range(count)] for i in range(count)]
    mosaic = da.block(rows)[:size, :size]
    with dask.config.set(scheduler="threads", num_workers=1):
        write_ngff_image(path, mosaic, "yx", levels=1)
    return path


def open_level(path: Path, crop: int | None = None):
    import dask.array as da

    image = da.from_zarr(str(path / "0"))
    return image if crop is None else image[:crop, :crop]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def blockwise_on_cluster(image, workers: int, out: Path, block: int | None) -> dict:
    """``segment_blockwise`` on a fresh LocalCluster of ``workers`` processes of one thread,
    warmed up on a corner of the image (imports, model, compiled kernels) → seconds, CPU
    seconds of the workers and of this process, peak RSS per worker and of this process, the
    result."""
    from distributed import Client, LocalCluster

    from microseg.scale import segment_blockwise

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=0) as cluster, \
            Client(cluster) as client:
        corner = image[tuple(slice(0, min(n, 512)) for n in image.shape)]
        segment_blockwise(corner, "default", out=out.with_suffix(".warm.zarr"), block=block,
                          scheduler=cluster.scheduler_address, progress=False)
        before, driver = client.run(_cpu), _cpu()
        start = time.perf_counter()
        result = segment_blockwise(image, "default", out=out, block=block,
                                   scheduler=cluster.scheduler_address, progress=False)
        seconds = time.perf_counter() - start
        after = client.run(_cpu)
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KB)
    return {"seconds": seconds, "worker_rss": sorted(rss.values()),
            "cpu": sum(after[w] - before[w] for w in after) + _cpu() - driver,
            "driver_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KB,
            "result": result}


def in_memory(image_path: Path, crop: int | None, out: Path) -> dict:
    """``ms.segment`` of the image (a crop of level 0) in a fresh process on one thread →
    seconds (read excluded), peak RSS, the labels written to ``out`` (.npy)."""
    script = textwrap.dedent("""
        import json, resource, sys, time
        import numpy as np, zarr
        import microseg as ms
        path, crop, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        array = zarr.open_array(path + "/0", mode="r")
        image = array[:crop, :crop] if crop else array[...]
        predictor = ms.load_model("default", threads=1)
        ms.segment(image[:512, :512], predictor, diameter="model")         # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        labels = ms.segment(image, predictor, diameter="model")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        np.save(out, labels)
        print(json.dumps({"seconds": seconds, "cpu": cpu,
                          "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
        """)
    done = subprocess.run([sys.executable, "-c", script, str(image_path), str(crop or 0),
                           str(out)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def blockwise_in_process(image_path: Path, crop: int, out: Path, block: int | None) -> dict:
    """``segment_blockwise`` of a crop of level 0 with the default ``threads`` scheduler and one
    worker, in a fresh process on one thread (as :func:`in_memory`, warmed up) → seconds,
    CPU seconds, peak RSS."""
    script = textwrap.dedent("""
        import json, resource, sys, time
        import dask.array as da
        from microseg.scale import segment_blockwise
        path, crop, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        block = int(sys.argv[4]) or None
        image = da.from_zarr(path + "/0")[:crop, :crop]
        segment_blockwise(image[:1024, :1024], "default", out=out + ".warm", block=block,
                          scheduler="threads", workers=1, progress=False)   # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        segment_blockwise(image, "default", out=out, block=block, scheduler="threads",
                          workers=1, progress=False)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(json.dumps({"seconds": seconds, "cpu": cpu,
                          "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
        """)
    done = subprocess.run([sys.executable, "-c", script, str(image_path), str(crop), str(out),
                           str(block or 0)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def in_memory_stack(stack: np.ndarray, out: Path) -> dict:
    """:func:`in_memory` of a stack given as an array (saved to a temporary .npy first)."""
    source = out.with_name("stack_input.npy")
    np.save(source, stack)
    script = textwrap.dedent("""
        import json, resource, sys, time
        import numpy as np
        import microseg as ms
        image = np.load(sys.argv[1])
        predictor = ms.load_model("default", threads=1)
        ms.segment(image[:4, :512, :512], predictor, diameter="model")     # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        labels = ms.segment(image, predictor, diameter="model")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        np.save(sys.argv[2], labels)
        print(json.dumps({"seconds": seconds, "cpu": cpu,
                          "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
        """)
    done = subprocess.run([sys.executable, "-c", script, str(source), str(out)],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def face_cut_objects(labels: np.ndarray, faces: list[list[int]]) -> int:
    """Objects of ``labels`` whose boundary follows a block face: members of touching pairs
    whose every contact (4-/6-neighbours) lies across one of the ``faces`` (per axis, the
    first index of each block but the first)."""
    face_pairs: dict[tuple[int, int], int] = {}
    total: dict[tuple[int, int], int] = {}
    for axis in range(labels.ndim):
        low = np.take(labels, np.arange(labels.shape[axis] - 1), axis=axis).ravel()
        high = np.take(labels, np.arange(1, labels.shape[axis]), axis=axis).ravel()
        touching = (low != high) & (low > 0) & (high > 0)
        on_face = np.zeros(labels.shape[axis] - 1, bool)
        on_face[[f - 1 for f in faces[axis]]] = True
        shape = [1] * labels.ndim
        shape[axis] = labels.shape[axis] - 1
        face_mask = np.broadcast_to(on_face.reshape(shape),
                                    [n - (a == axis) for a, n in enumerate(labels.shape)])
        for counts, keep in ((total, touching), (face_pairs, touching & face_mask.ravel())):
            a, b = np.minimum(low[keep], high[keep]), np.maximum(low[keep], high[keep])
            pairs, n = np.unique(np.stack([a, b]), axis=1, return_counts=True)
            for (x, y), c in zip(pairs.T.tolist(), n.tolist()):
                counts[x, y] = counts.get((x, y), 0) + c
    cut = {pair for pair, n in face_pairs.items() if n == total[pair]}
    return len({label for pair in cut for label in pair})


def grid_faces(grid) -> list[list[int]]:
    return [list(np.cumsum(chunks)[:-1]) for chunks in grid.chunks]


def row(name: str, **values) -> dict:
    print(f"{name:<28}" + "  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                   for k, v in values.items()), flush=True)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384)
    parser.add_argument("--seam-size", type=int, default=8192)
    parser.add_argument("--memory-size", type=int, default=4096)
    parser.add_argument("--stack", type=int, nargs=3, default=[64, 1024, 1024])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--block", type=int, default=None)
    parser.add_argument("--unique", type=int, default=8, help="distinct mosaic tiles")
    parser.add_argument("--cases", nargs="+", default=["mosaic", "memory", "seams", "stack"])
    parser.add_argument("--folder", type=Path, default=None,
                        help="where inputs and outputs go (default: a temporary folder)")
    args = parser.parse_args()
    import dask.array as da
    import zarr

    from microseg.data import synthetic
    from microseg.metrics import match
    from microseg.scale import segment_blockwise

    folder = args.folder or Path(tempfile.mkdtemp(prefix="microseg-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    report: dict = {"size": args.size, "folder": str(folder)}
    gib = 2.0 ** 30
    mosaic = make_mosaic(folder / f"mosaic{args.size}.ome.zarr",
                         max(args.size, args.seam_size, args.memory_size), args.unique)
    print(f"inputs in {folder}", flush=True)

    if "mosaic" in args.cases:
        image = open_level(mosaic, args.size)
        arrays = {}
        for workers in args.workers:
            out = folder / f"mosaic_w{workers}.zarr"
            run = blockwise_on_cluster(image, workers, out, args.block)
            arrays[workers] = out
            mpx = args.size ** 2 / 1e6 / run["seconds"]
            report[f"mosaic_w{workers}"] = row(
                f"mosaic {args.size}² w={workers}", seconds=run["seconds"], cpu_s=run["cpu"],
            mpx_per_s=mpx,
                worker_rss_gib=max(run["worker_rss"]) / gib,
                driver_rss_gib=run["driver_rss"] / gib, objects=run["result"].count,
                blocks=int(np.prod(run["result"].grid.counts)),
                refused=run["result"].refused, cut_by_halo=run["result"].cut_by_halo)
        first = da.from_zarr(str(arrays[args.workers[0]]))
        same = all(bool((first == da.from_zarr(str(arrays[w]))).all().compute())
                   for w in args.workers[1:])
        speedup = (report[f"mosaic_w{args.workers[0]}"]["seconds"]
                   / report[f"mosaic_w{args.workers[-1]}"]["seconds"])
        report["determinism"] = row("determinism", identical=same, workers=args.workers,
                                    speedup=speedup)

    if "memory" in args.cases:
        crop = args.memory_size
        whole = in_memory(mosaic, crop, folder / "memory_whole.npy")
        run = blockwise_on_cluster(open_level(mosaic, crop), 1, folder / "memory_block.zarr",
                                   args.block)
        threads = blockwise_in_process(mosaic, crop, folder / "memory_threads.zarr", args.block)
        report["memory"] = row(
            f"memory {crop}² 1 thread", inmemory_s=whole["seconds"], inmemory_cpu_s=whole["cpu"],
            inmemory_rss_gib=whole["rss"] / gib, blockwise_s=run["seconds"],
            blockwise_cpu_s=run["cpu"], blockwise_worker_rss_gib=max(run["worker_rss"]) / gib,
            throughput_ratio=whole["seconds"] / run["seconds"],
            cpu_throughput_ratio=whole["cpu"] / run["cpu"], threads_s=threads["seconds"],
            threads_rss_gib=threads["rss"] / gib,
            threads_throughput_ratio=whole["seconds"] / threads["seconds"])

    if "seams" in args.cases:
        crop = args.seam_size
        whole_run = in_memory(mosaic, crop, folder / "seams_whole.npy")
        run = blockwise_on_cluster(open_level(mosaic, crop), 1, folder / "seams_block.zarr",
                                   args.block)
        whole = np.load(folder / "seams_whole.npy")
        blockwise = zarr.open_array(str(folder / "seams_block.zarr"), mode="r")[...]
        faces = grid_faces(run["result"].grid)
        m = match(whole, blockwise, iou=0.5)
        report["seams"] = row(
            f"seams {crop}²", f1=m.f1, tp=m.tp, fp=m.fp, fn=m.fn,
            face_cut=face_cut_objects(blockwise, faces),
            face_cut_whole=face_cut_objects(whole, faces), inmemory_s=whole_run["seconds"],
            blockwise_s=run["seconds"], refused=run["result"].refused)

    if "stack" in args.cases:
        sample = synthetic.generate("nuclei3d", seed=0, shape=tuple(args.stack))
        whole_run = in_memory_stack(sample.image, folder / "stack_whole.npy")
        stored = zarr.create_array(str(folder / "stack.zarr"), shape=sample.image.shape,
                                   chunks=(8, 512, 512), dtype=sample.image.dtype,
                                   overwrite=True)
        stored[...] = sample.image
        run = blockwise_on_cluster(da.from_zarr(str(folder / "stack.zarr")), 1,
                                   folder / "stack_block.zarr", args.block)
        whole = np.load(folder / "stack_whole.npy")
        blockwise = zarr.open_array(str(folder / "stack_block.zarr"), mode="r")[...]
        m = match(whole, blockwise, iou=0.5)
        report["stack"] = row(
            f"stack {'x'.join(map(str, args.stack))}", f1=m.f1, tp=m.tp, fp=m.fp, fn=m.fn,
            face_cut=face_cut_objects(blockwise, grid_faces(run["result"].grid)),
            face_cut_whole=face_cut_objects(whole, grid_faces(run["result"].grid)),
            inmemory_s=whole_run["seconds"], inmemory_rss_gib=whole_run["rss"] / gib,
            blockwise_s=run["seconds"], blockwise_worker_rss_gib=max(run["worker_rss"]) / gib,
            blocks=list(run["result"].grid.counts))
    print(json.dumps(report, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


if __name__ == "__main__":
    main()
