"""CTC lineage: turn per-frame identities and parent links into a valid track table.

In the Cell Tracking Challenge format a track label occupies every frame from its begin ``B`` to
its end ``E``. An identity that is absent for some frames (a closed gap, a missed detection)
therefore continues after the gap under a new label whose parent is the label before the gap;
a daughter's parent is the last piece of its mother's identity, kept only when that piece ends
before the daughter begins. :func:`ctc_lineage` applies these rules to the ids present per frame;
:func:`track_table` applies them to label images.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from microseg.io.images import as_labels


def ctc_lineage(presence: Mapping[int, np.ndarray],
                parents: Mapping[int, int]) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """CTC track labels and table for identities present per frame.

    ``presence[t]`` ``(n_t,)`` lists the distinct ids (> 0) present in frame ``t``; ``parents``
    maps an id to its parent id (missing or 0: none). Each maximal run of consecutive frames of
    an id becomes one track; the first run keeps the id, later runs get new ids after the largest
    id present (in order of id, then time) with the previous run as parent. Returns
    ``({t: (n_t,) track label of each id of presence[t]}, table)`` with ``table`` ``(N, 4)``
    int64 rows ``L B E P`` sorted by label.

    >>> labels, table = ctc_lineage({0: np.array([1]), 1: np.array([]), 2: np.array([1])}, {})
    >>> labels[2].tolist(), table.tolist()
    ([2], [[1, 0, 0, 0], [2, 2, 2, 1]])
    """
    frames = sorted(int(t) for t in presence)
    ids_per_frame = [np.asarray(presence[t], np.int64).reshape(-1) for t in frames]
    ids = np.concatenate(ids_per_frame + [np.zeros(0, np.int64)])
    counts = [a.size for a in ids_per_frame]
    times = np.repeat(np.asarray(frames, np.int64), counts)
    if ids.size == 0:
        return {t: np.zeros(0, np.int64) for t in frames}, np.zeros((0, 4), np.int64)
    order = np.lexsort((times, ids))
    ids_sorted, times_sorted = ids[order], times[order]
    starts = np.ones(ids.size, bool)
    starts[1:] = (ids_sorted[1:] != ids_sorted[:-1]) | (np.diff(times_sorted) != 1)
    run_of = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.append(first[1:], ids.size) - 1
    run_id = ids_sorted[first].copy()
    continued = np.zeros(first.size, bool)
    continued[1:] = run_id[1:] == run_id[:-1]
    next_id = int(ids.max(initial=0)) + 1
    run_label = run_id.copy()
    run_label[continued] = next_id + np.arange(int(continued.sum()))
    run_parent = np.zeros(first.size, np.int64)
    run_parent[1:][continued[1:]] = run_label[:-1][continued[1:]]
    begin, end = times_sorted[first], times_sorted[last]
    # The last piece of every identity and its end, for the parent links of first pieces.
    last_piece = {int(i): k for k, i in enumerate(run_id)}
    for k in np.flatnonzero(~continued):
        mother = last_piece.get(int(parents.get(int(run_id[k]), 0)), -1)
        if mother >= 0 and end[mother] < begin[k]:
            run_parent[k] = run_label[mother]
    labels_sorted = run_label[run_of]
    new = np.empty(ids.size, np.int64)
    new[order] = labels_sorted
    out = dict(zip(frames, np.split(new, np.cumsum(counts)[:-1])))
    table = np.stack([run_label, begin, end, run_parent], axis=1).astype(np.int64)
    return out, table[np.argsort(table[:, 0], kind="stable")]


def track_table(masks: Mapping[int, np.ndarray],
                parents: Mapping[int, int]) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Make per-frame label images and a CTC track table ``(N, 4)`` L B E P agree.

    ``masks[t]`` is the label image of frame ``t`` (ids = identities, possibly with gaps in
    time), ``parents`` maps an id to its parent's id. The rules are those of
    :func:`ctc_lineage`. Returns relabelled copies of ``masks`` and the table.
    """
    masks = {int(t): as_labels(m) for t, m in masks.items()}
    presence = {}
    for t, mask in masks.items():
        present = np.unique(mask)
        presence[t] = present[present > 0]
    labels, table = ctc_lineage(presence, parents)
    out = {}
    for t, mask in masks.items():
        renamed = labels[t] != presence[t]
        if not renamed.any():
            out[t] = mask.copy()
            continue
        lut = np.arange(int(mask.max()) + 1, dtype=np.int64)
        lut[presence[t]] = labels[t]
        out[t] = as_labels(lut[mask])
    return out, table


def clip_tracks(tracks: np.ndarray, first: int, last: int) -> np.ndarray:
    """The track table ``(N, 4)`` L B E P of frames ``first..last`` only (inclusive): tracks
    outside are dropped, the others cut to the range, and a parent link kept only when the
    parent is still in the range (it then still ends before its child begins). Frame numbers are
    unchanged.

    >>> clip_tracks(np.array([[1, 0, 4, 0], [2, 5, 9, 1], [3, 8, 9, 0]]), 5, 8).tolist()
    [[2, 5, 8, 0], [3, 8, 8, 0]]
    """
    tracks = np.asarray(tracks, np.int64).reshape(-1, 4)
    kept = tracks[(tracks[:, 2] >= first) & (tracks[:, 1] <= last)].copy()
    kept[:, 1] = np.maximum(kept[:, 1], first)
    kept[:, 2] = np.minimum(kept[:, 2], last)
    kept[~np.isin(kept[:, 3], kept[:, 0]), 3] = 0
    return kept
