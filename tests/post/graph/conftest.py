"""Brute-force (lifted) multicut optima for tiny graphs, computed without the package's code, and
random tiny problems to compare the solvers against."""
import itertools

import numpy as np
import pytest


def set_partitions(n):
    """Every partition of ``n`` nodes as a restricted-growth string, ``(Bell(n), n)`` int array."""
    rows = [[0]] if n else [[]]
    for _ in range(1, n):
        rows = [r + [k] for r in rows for k in range(max(r) + 2)]
    return np.array(rows, dtype=np.int64).reshape(len(rows), n)


def blocks_connected(partitions, uv):
    """Boolean per partition: is every block connected through edges ``uv`` inside it?"""
    n_parts, n = partitions.shape
    comp = np.tile(np.arange(n), (n_parts, 1))
    for _ in range(n):
        for u, v in uv:
            same = partitions[:, u] == partitions[:, v]
            low = np.minimum(comp[:, u], comp[:, v])
            comp[:, u] = np.where(same, low, comp[:, u])
            comp[:, v] = np.where(same, low, comp[:, v])
    def distinct(a):
        s = np.sort(a, axis=1)
        return 1 + (np.diff(s, axis=1) != 0).sum(axis=1)
    return distinct(comp) == distinct(partitions)


def cut_cost(labels, uv, costs):
    """Objective of labelling(s) ``(..., n)``: sum of costs over edges with different labels."""
    labels = np.atleast_2d(labels)
    if len(uv) == 0:
        return np.zeros(len(labels))
    return (labels[:, uv[:, 0]] != labels[:, uv[:, 1]]).astype(float) @ costs


def brute_force(n, uv, costs, luv=None, lcosts=None):
    """Optimal objective over all partitions (lifted: over partitions with connected blocks)."""
    parts = set_partitions(n)
    total = cut_cost(parts, uv, costs)
    if luv is not None:
        parts_ok = blocks_connected(parts, uv)
        total = np.where(parts_ok, total + cut_cost(parts, luv, lcosts), np.inf)
    return float(total.min())


def random_problem(rng, n, density=0.6, lifted=False):
    """A random connected graph on ``n`` nodes with normal costs; lifted: all other pairs."""
    pairs = np.array(list(itertools.combinations(range(n), 2)))
    tree = np.array([[rng.integers(0, i), i] for i in range(1, n)])
    extra = pairs[rng.random(len(pairs)) < density]
    keys = set(map(tuple, tree.tolist())) | set(map(tuple, extra.tolist()))
    uv = np.array(sorted(keys), dtype=np.int64)
    costs = rng.normal(0.0, 1.0, len(uv)) + 0.3
    if not lifted:
        return uv, costs, None, None
    others = np.array([p for p in pairs.tolist() if tuple(p) not in keys], dtype=np.int64)
    others = others.reshape(-1, 2)
    return uv, costs, others, rng.normal(0.0, 1.0, len(others))


@pytest.fixture
def brute():
    """``brute(n, uv, costs, luv=None, lcosts=None) -> optimal objective``."""
    return brute_force


@pytest.fixture
def tiny():
    """``tiny(rng, n, density=0.6, lifted=False) -> (uv, costs, lifted_uv, lifted_costs)``."""
    return random_problem


@pytest.fixture
def cut():
    """``cut(labels, uv, costs) -> objective per labelling``."""
    return cut_cost


@pytest.fixture
def connected():
    """``connected(labels, uv) -> bool``: is every cluster of ``labels`` connected via ``uv``?"""
    return lambda labels, uv: bool(blocks_connected(np.asarray(labels)[None], np.asarray(uv))[0])


def synthetic_boundary(gt, rng, gap_value=0.3, false_value=0.7, n_gaps=25, n_false=40, noise=0.1):
    """A boundary map made from GT labels ``(Z, Y, X)``: membranes (GT 0) = 1 with weak gaps
    (disks of ``gap_value``), false boundary strokes of ``false_value`` inside cells, Gaussian
    blur and noise, in [0, 1]. Thresholding it either merges cells through the gaps or splits
    them along the strokes."""
    from scipy import ndimage as ndi
    from skimage.draw import disk, line

    out = np.zeros(gt.shape, np.float32)
    for z, section in enumerate(gt):
        b = (section == 0).astype(np.float32)
        ys, xs = np.nonzero(section == 0)
        for k in rng.choice(len(ys), n_gaps):
            rr, cc = disk((ys[k], xs[k]), 3.5, shape=section.shape)
            b[rr, cc] = np.minimum(b[rr, cc], gap_value)
        for _ in range(n_false):
            y0, x0 = rng.integers(0, section.shape[0]), rng.integers(0, section.shape[1])
            angle, length = rng.uniform(0, np.pi), rng.uniform(15, 40)
            y1 = int(np.clip(y0 + length * np.sin(angle), 0, section.shape[0] - 2))
            x1 = int(np.clip(x0 + length * np.cos(angle), 0, section.shape[1] - 2))
            rr, cc = line(min(y0, section.shape[0] - 2), min(x0, section.shape[1] - 2), y1, x1)
            for dy in (0, 1):
                for dx in (0, 1):
                    inside = section[rr + dy, cc + dx] > 0
                    b[rr + dy, cc + dx] = np.maximum(b[rr + dy, cc + dx], false_value * inside)
        b = ndi.gaussian_filter(b, 1.0)
        b /= max(float(b.max()), 1e-6)
        out[z] = np.clip(b + rng.normal(0.0, noise, b.shape), 0.0, 1.0)
    return out


@pytest.fixture(scope="module")
def em_stack():
    """Synthetic EM ``(raw, gt, boundary)``, each ``(6, 160, 160)``: train on slices 0–3, test
    on 4–5."""
    from microseg.data.synthetic import generate

    sample = generate("em", seed=0, shape=(6, 160, 160), diameter=50)
    boundary = synthetic_boundary(sample.labels, np.random.default_rng(0))
    return sample.image, sample.labels, boundary
