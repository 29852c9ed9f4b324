"""The tracker: features per frame, optimal links between consecutive frames, divisions, optional
gap closing, and the CTC lineage of the result.

    from microseg.track import track, TrackConfig
    result = track(labels, images, TrackConfig(gap_closing=True), progress=True)
    result.tracks                       # (N, 4) L B E P
    result.relabel(0, labels[0])        # frame 0 with objects renumbered by track id

Frames are visited once, in order, holding at most three label images (two without gap
closing), so ``labels`` and ``images`` may be lazy sequences that read each frame when indexed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.images import as_labels
from microseg.metrics.overlap import overlap_table
from microseg.track.config import TrackConfig
from microseg.track.divisions import find_divisions, undo_short_divisions
from microseg.track.features import ObjectFeatures, object_features
from microseg.track.linking import gate_distance, link_frames
from microseg.io.ctc_lineage import ctc_lineage


@dataclass(frozen=True, eq=False)
class Tracking:
    """A tracking result.

    ``frames`` ``(T,)``: frame number of each position; ``labels[k]`` ``(n_k,)``: the object
    labels of frame ``k`` as given; ``track_ids[k]`` ``(n_k,)``: their track labels;
    ``features[k]``: their :class:`ObjectFeatures`; ``tracks`` ``(N, 4)`` int64 ``L B E P``
    (frame numbers). ``n_divisions`` and ``n_gaps_closed`` count the events found.
    """

    frames: np.ndarray
    labels: list[np.ndarray]
    track_ids: list[np.ndarray]
    features: list[ObjectFeatures]
    tracks: np.ndarray
    n_divisions: int = 0
    n_gaps_closed: int = 0
    config: TrackConfig = field(default_factory=TrackConfig)

    @property
    def n_tracks(self) -> int:
        return int(len(self.tracks))

    def relabel(self, k: int, labels: np.ndarray) -> np.ndarray:
        """Label image ``labels`` of position ``k`` with every object renumbered by its track
        label (uint16, or uint32 past 65535)."""
        labels = as_labels(labels)
        lut = np.zeros(int(labels.max(initial=0)) + 1, np.int64)
        if self.labels[k].size and int(self.labels[k].max()) >= lut.size:
            raise InputError(None, f"frame {self.frames[k]}: labels do not match the tracked "
                                   f"frame (label {int(self.labels[k].max())} missing)")
        lut[self.labels[k]] = self.track_ids[k]
        out = lut[labels]
        if np.any(out[labels > 0] == 0):
            raise InputError(None, f"frame {self.frames[k]}: labels do not match the tracked "
                                   f"frame (objects that were not tracked)")
        return as_labels(out)

    def table(self) -> dict[str, np.ndarray]:
        """One row per object and frame, sorted by track then frame: ``track_id``, ``frame``,
        ``label`` (as given), ``parent`` (the track's parent, 0 = none), ``centroid_(z)yx``,
        ``size``, ``radius``, ``aspect``, ``solidity``, ``mean_intensity``, ``max_intensity``
        (units of :class:`ObjectFeatures`)."""
        ndim = next((f.centroid.shape[1] for f in self.features if len(f)), 2)
        track_id = np.concatenate([np.zeros(0, np.int64)] + self.track_ids)
        frame = np.repeat(self.frames, [a.size for a in self.labels])
        row = np.searchsorted(self.tracks[:, 0], track_id)  # tracks are sorted by label
        columns = {"track_id": track_id, "frame": frame,
                   "label": np.concatenate([np.zeros(0, np.int64)] + self.labels),
                   "parent": self.tracks[row, 3] if row.size else np.zeros(0, np.int64)}
        centroid = np.concatenate([np.zeros((0, ndim))] + [f.centroid for f in self.features])
        for axis, name in enumerate("zyx"[3 - ndim:]):
            columns[f"centroid_{name}"] = centroid[:, axis]
        for name in ("size", "radius", "aspect", "solidity", "mean_intensity", "max_intensity"):
            empty = np.zeros(0, np.int64 if name == "size" else np.float64)
            columns[name] = np.concatenate([empty] + [getattr(f, name) for f in self.features])
        order = np.lexsort((frame, track_id))
        return {name: values[order] for name, values in columns.items()}


def track(labels: Sequence[np.ndarray], images: Sequence[np.ndarray] | None = None,
          config: TrackConfig | None = None, *, first_frame: int = 0,
          progress: bool = False) -> Tracking:
    """Track the objects of ``labels`` (a sequence of ``(Y, X)`` or ``(Z, Y, X)`` label images,
    e.g. a ``(T, Y, X)`` array; 0 = background) with the raw ``images`` of the same shapes (or
    ``None``: geometric centroids, no intensity cost). ``first_frame`` is the frame number of
    ``labels[0]`` (CTC numbering). Returns a :class:`Tracking`.

    Per frame pair: :func:`~microseg.track.linking.link_frames` (optimal one-to-one links), then
    :func:`~microseg.track.divisions.find_divisions`; with ``config.gap_closing`` the tracks that
    ended at frame t − 2 are then linked to the tracks still unexplained at t. Identities follow
    the links; a division ends the mother and starts two daughters with her as parent. At the
    end, divisions whose daughters do not last are undone
    (:func:`~microseg.track.divisions.undo_short_divisions`) and
    :func:`~microseg.io.ctc_lineage.ctc_lineage` makes the CTC track table.
    """
    from tqdm import tqdm

    config = config or TrackConfig()
    n = len(labels)
    if n == 0:
        raise InputError(None, "no frames to track")
    if images is not None and len(images) != n:
        raise InputError(None, f"{n} label frames but {len(images)} image frames")
    state = _Linker(config)
    for k in tqdm(range(n), desc="track", unit="frame", disable=None if progress else True,
                  leave=False):
        lab, image = _read_frame(labels, images, k, first_frame + k, config, state.shape)
        state.add(lab, object_features(lab, image, config.spacing,
                                       source=_name(labels, k, f"label frame {first_frame + k}")))
    identities, parents, undone = undo_short_divisions(
        state.identities, state.parents, state.divisions, config.min_daughter_frames)
    track_ids, tracks = ctc_lineage(dict(enumerate(identities)), parents)
    tracks[:, 1:3] += first_frame
    return Tracking(frames=first_frame + np.arange(n), labels=[f.ids for f in state.features],
                    track_ids=[track_ids[k] for k in range(n)], features=state.features,
                    tracks=tracks, n_divisions=len(state.divisions) - undone,
                    n_gaps_closed=state.n_gaps, config=config)


class _Linker:
    """Links each new frame to the previous ones and keeps the identity of every object."""

    def __init__(self, config: TrackConfig):
        self.config = config
        self.features: list[ObjectFeatures] = []
        self.identities: list[np.ndarray] = []
        self.has_successor: list[np.ndarray] = []
        self.parents: dict[int, int] = {}
        self.divisions: list[tuple[int, int, int]] = []
        self.window: list[np.ndarray] = []  # the last label images (3 with gap closing, else 2)
        self.next_identity = 1
        self.n_gaps = 0

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self.window[-1].shape if self.window else None

    def add(self, labels: np.ndarray, feats: ObjectFeatures) -> None:
        config, count = self.config, len(feats)
        predecessor = np.full(count, -1, np.int64)
        bridge = np.full(count, -1, np.int64)
        pairs = np.zeros((0, 3), np.int64)  # mother row (previous frame), daughter rows
        self.has_successor.append(np.zeros(count, bool))
        if self.features:
            prev = self.features[-1]
            links = link_frames(prev, feats, overlap_table(self.window[-1], labels), config)
            predecessor[links.curr] = links.prev
            self.has_successor[-2][links.prev] = True
            if config.divisions:
                found = find_divisions(prev, feats, links, gate_distance(prev, feats, config),
                                       config)
                predecessor[found.daughters.ravel()] = -1
                pairs = np.column_stack([found.mother, found.daughters])
        if config.gap_closing and len(self.features) > 1:
            ended = ~self.has_successor[-3]
            unexplained = predecessor < 0
            unexplained[pairs[:, 1:].ravel()] = False
            if ended.any() and unexplained.any():
                gaps = link_frames(self.features[-2], feats,
                                   overlap_table(self.window[-2], labels), config, ended,
                                   unexplained, config.gap_cost)
                bridge[gaps.curr] = gaps.prev
                self.has_successor[-3][gaps.prev] = True
                self.n_gaps += len(gaps.prev)
        current = np.zeros(count, np.int64)
        for rows_before, back in ((predecessor, 1), (bridge, 2)):
            linked = rows_before >= 0
            if linked.any():
                current[linked] = self.identities[-back][rows_before[linked]]
        new = (predecessor < 0) & (bridge < 0)
        current[new] = self.next_identity + np.arange(int(new.sum()))
        self.next_identity += int(new.sum())
        for mother, first, second in pairs.tolist():
            division = (int(self.identities[-1][mother]), int(current[first]),
                        int(current[second]))
            self.divisions.append(division)
            self.parents.update({division[1]: division[0], division[2]: division[0]})
        self.features.append(feats)
        self.identities.append(current)
        self.window = (self.window + [labels])[-(3 if config.gap_closing else 2):]


def _read_frame(labels: Sequence[np.ndarray], images: Sequence[np.ndarray] | None, k: int,
                frame: int, config: TrackConfig,
                shape: tuple[int, ...] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Label image and raw frame ``k``, checked against each other, the earlier frames' shape
    and the configured spacing."""
    where = _name(labels, k, f"label frame {frame}")
    lab = as_labels(labels[k], where)
    if lab.ndim not in (2, 3):
        raise InputError(where, f"expected (Y, X) or (Z, Y, X) labels, got shape {lab.shape}")
    if shape is not None and lab.shape != shape:
        raise InputError(where, f"shape {lab.shape} differs from the first frame's {shape}")
    if config.spacing is not None and len(config.spacing) != lab.ndim:
        raise InputError(where, f"spacing {config.spacing} has {len(config.spacing)} values "
                                f"for {lab.ndim}D frames")
    if images is None:
        return lab, None
    image = np.asarray(images[k])
    if image.shape != lab.shape:
        raise InputError(_name(images, k, f"image frame {frame}"),
                         f"image shape {image.shape} does not match the label shape {lab.shape} "
                         f"of {where}")
    return lab, image


def _name(frames: Sequence[np.ndarray], k: int, default: str) -> str:
    """What to call frame ``k`` in messages: the sequence's own name for it (a
    :class:`~microseg.track.frames.FrameSequence` names its files) or ``default``."""
    name = getattr(frames, "name", None)
    return name(k) if callable(name) else default
