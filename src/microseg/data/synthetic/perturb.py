"""Deliberately wrong copies of ground truth, to show what the metrics report for known errors."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from microseg.data.rescale import median_diameter
from microseg.errors import InputError
from microseg.io.images import as_labels
from microseg.io.ctc_lineage import track_table


def perturb_labels(labels: np.ndarray, rng: np.random.Generator, *, n_erode: int = 2,
                   n_dilate: int = 2, n_merge: int = 1, n_drop: int = 1, n_spurious: int = 1,
                   width: int = 1, next_id: int | None = None) -> np.ndarray:
    """A perturbed copy of instance ``labels`` (``(Y, X)`` or ``(Z, Y, X)``, 0 = background).

    Distinct, randomly chosen objects are changed: ``n_merge`` pairs of touching objects are merged
    (the second takes the first one's id; fewer when fewer pairs touch), ``n_drop`` are removed,
    ``n_erode`` shrink by ``width`` px (unless that would remove them), ``n_dilate`` grow by
    ``width`` px into the background. Then ``n_spurious`` false objects (balls of the median object
    radius, at least 2 px) are added where there is enough background, with ids ``next_id,
    next_id + 1, …`` (default: after the largest id). Every other object keeps its id and pixels.
    """
    labels = as_labels(labels)
    out = labels.astype(np.int64)
    ids = rng.permutation(np.unique(out[out > 0]))
    used: set[int] = set()
    pairs = touching_pairs(out)
    for a, b in pairs[rng.permutation(len(pairs))]:
        if n_merge <= 0:
            break
        if a not in used and b not in used:
            out[out == b] = a
            used.update((int(a), int(b)))
            n_merge -= 1
    free = [int(i) for i in ids if i not in used]
    drop, free = free[:max(n_drop, 0)], free[max(n_drop, 0):]
    out[np.isin(out, drop)] = 0
    erode, free = free[:max(n_erode, 0)], free[max(n_erode, 0):]
    dilate = free[:max(n_dilate, 0)]
    for i in erode:
        box, mask = _object(out, i, 0)
        kept = ndimage.binary_erosion(mask, iterations=width)
        if kept.any():
            out[box][mask & ~kept] = 0
    for i in dilate:
        box, mask = _object(out, i, width)
        region = out[box]
        region[ndimage.binary_dilation(mask, iterations=width) & (region == 0)] = i
    radius = max(2.0, median_diameter(labels) / 2) if ids.size else 2.0
    first = int(out.max()) + 1 if next_id is None else int(next_id)
    for k in range(max(n_spurious, 0)):
        _add_ball(out, rng, radius, first + k)
    return as_labels(out)


def touching_pairs(labels: np.ndarray) -> np.ndarray:
    """Pairs ``(a, b)``, ``a < b``, of different objects that share a face, as ``(P, 2)`` int64."""
    found = [np.zeros((0, 2), dtype=np.int64)]
    for axis in range(labels.ndim):
        a = np.moveaxis(labels, axis, 0)[:-1].ravel()
        b = np.moveaxis(labels, axis, 0)[1:].ravel()
        m = (a != b) & (a > 0) & (b > 0)
        found.append(np.stack([np.minimum(a[m], b[m]), np.maximum(a[m], b[m])], axis=1))
    return np.unique(np.concatenate(found).astype(np.int64), axis=0)


def perturb_sequence(labels: np.ndarray, tracks: np.ndarray, rng: np.random.Generator, *,
                     p_merge: float = 0.3, p_drop: float = 0.3, p_spurious: float = 0.3,
                     n_erode: int = 1, n_dilate: int = 1) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """A perturbed tracking result from ground truth ``labels`` ``(T, Y, X)`` (ids = track ids) and
    its ``tracks`` ``(N, 4)`` L B E P.

    Each frame goes through :func:`perturb_labels` with one merge, drop and spurious object each
    with probability ``p_merge`` / ``p_drop`` / ``p_spurious`` and ``n_erode`` / ``n_dilate``
    shape errors. Returns ``({t: mask}, tracks)``, consistent with each other (see
    :func:`track_table`); unperturbed cells keep their track ids and lineage.
    """
    if labels.ndim < 3 or len(labels) == 0:
        raise InputError(None, f"labels must be a (T, Y, X) sequence, got shape {labels.shape}")
    tracks = np.asarray(tracks, dtype=np.int64).reshape(-1, 4)
    next_id = int(max(tracks[:, 0].max(initial=0), labels.max())) + 1
    masks = {}
    for t, frame in enumerate(labels):
        spurious = int(rng.random() < p_spurious)
        masks[t] = perturb_labels(frame, rng, n_erode=n_erode, n_dilate=n_dilate,
                                  n_merge=int(rng.random() < p_merge),
                                  n_drop=int(rng.random() < p_drop), n_spurious=spurious,
                                  next_id=next_id)
        next_id += spurious
    return track_table(masks, {int(l): int(p) for l, _, _, p in tracks})


def _object(labels: np.ndarray, i: int, margin: int) -> tuple[tuple[slice, ...], np.ndarray]:
    """Bounding box of object ``i`` grown by ``margin`` (clipped) and its mask inside the box."""
    where = np.nonzero(labels == i)
    box = tuple(slice(max(int(w.min()) - margin, 0), min(int(w.max()) + margin + 1, size))
                for w, size in zip(where, labels.shape))
    return box, labels[box] == i


def _add_ball(labels: np.ndarray, rng: np.random.Generator, radius: float, new_id: int) -> None:
    """Paint a ball of ``radius`` px with ``new_id`` at a random place with enough background
    around it (nothing when there is none)."""
    clearance = ndimage.distance_transform_edt(labels == 0)
    candidates = np.flatnonzero(clearance > radius + 1.0)
    if candidates.size == 0:
        return
    centre = np.unravel_index(rng.choice(candidates), labels.shape)
    r = int(np.ceil(radius))
    box = tuple(slice(max(c - r, 0), min(c + r + 1, s)) for c, s in zip(centre, labels.shape))
    grids = np.ogrid[box]
    ball = sum((g - c) ** 2 for g, c in zip(grids, centre)) <= radius ** 2
    labels[box][ball] = new_id
