"""Cell Tracking Challenge (CTC) layout: sequences, ground truth, silver truth, results.

A dataset folder holds, for a sequence ``NN``::

    NN/tTTT.tif                       frames, (Y, X) or (Z, Y, X)
    NN_GT/SEG/man_segTTT.tif          full-frame instance labels (often on a subset of frames)
    NN_GT/SEG/man_seg_TTT_ZZZ.tif     3D ground truth given as single annotated slices z (Y, X)
    NN_GT/TRA/man_trackTTT.tif        tracking markers, every frame
    NN_GT/TRA/man_track.txt           one track a line: L B E P (label, begin, end, parent)
    NN_ST/SEG/man_segTTT.tif          silver truth (same layout as NN_GT/SEG)
    NN_RES/maskTTT.tif + res_track.txt   a method's result

``TTT`` has 3 digits, 4 when a frame index exceeds 999 (same for ``ZZZ``); readers accept both.
Frames and labels are read lazily, one file at a time. TIFFs are written LZW-compressed, as the
challenge's own files are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.atomic import atomic_path
from microseg.io.images import as_labels, check_same_shape, read_array, read_labels, write_image, \
    write_labels
from microseg.io.items import LabelledItem
from microseg.preprocess.normalize import intensity_range

COMPRESSION = "lzw"
TRACK_FILE = "man_track.txt"
RESULT_TRACK_FILE = "res_track.txt"

_FRAME = re.compile(r"^t(\d{3,4})\.tif$")
_SEG = re.compile(r"^man_seg(\d{3,4})\.tif$")
_SEG_SLICE = re.compile(r"^man_seg_(\d{3,4})_(\d{3,4})\.tif$")
_TRA = re.compile(r"^man_track(\d{3,4})\.tif$")
_MASK = re.compile(r"^mask(\d{3,4})\.tif$")
_SEQUENCE = re.compile(r"^\d{2,}$")


def index_width(largest: int) -> int:
    """Digits of a CTC frame or slice index: 3, or 4 when ``largest`` exceeds 999."""
    return 3 if largest <= 999 else 4


# --- track files -----------------------------------------------------------------------------

def read_track_file(path: str | Path) -> np.ndarray:
    """Read ``man_track.txt`` / ``res_track.txt`` → int64 ``(N, 4)`` rows ``L B E P``.

    An empty file gives ``(0, 4)``. Rows that are not four non-negative integers, ``B > E``, a
    repeated label or a parent that is not a listed label raise :class:`InputError`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "track file not found")
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read track file ({exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4 or not all(f.isdigit() and int(f) < 2 ** 63 for f in fields):
            raise InputError(path, f"line {number}: expected 4 non-negative integers "
                                   f"'L B E P' (below 2**63), got {line.strip()!r}")
        rows.append([int(f) for f in fields])
    tracks = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    check_tracks(tracks, path)
    return tracks


def check_tracks(tracks: np.ndarray, path: str | Path | None = None) -> np.ndarray:
    """Validate a track table ``(N, 4)`` ``L B E P`` and return it as int64 (see
    :func:`read_track_file` for the rules)."""
    tracks = np.asarray(tracks)
    if tracks.size == 0:
        return np.zeros((0, 4), dtype=np.int64)
    if tracks.ndim != 2 or tracks.shape[1] != 4 or tracks.dtype.kind not in "iu":
        raise InputError(path, f"tracks must be an integer (N, 4) table L B E P, "
                               f"got {tracks.dtype} {tracks.shape}")
    tracks = tracks.astype(np.int64)
    label, begin, end, parent = tracks.T
    problems = []
    if np.any(tracks < 0):
        problems.append("negative values")
    if np.any(label == 0):
        problems.append("label 0 (reserved for background)")
    if np.any(begin > end):
        problems.append(f"begin after end for labels {label[begin > end][:10].tolist()}")
    unique, counts = np.unique(label, return_counts=True)
    if np.any(counts > 1):
        problems.append(f"repeated labels {unique[counts > 1][:10].tolist()}")
    orphan = (parent != 0) & ~np.isin(parent, label)
    if np.any(orphan):
        problems.append(f"parents not listed as labels {parent[orphan][:10].tolist()}")
    if problems:
        raise InputError(path, "bad track table: " + "; ".join(problems))
    return tracks


def write_track_file(path: str | Path, tracks: np.ndarray) -> Path:
    """Write a track table ``(N, 4)`` ``L B E P`` as a CTC track file (one row a line). Atomic."""
    tracks = check_tracks(tracks, path)
    text = "".join(f"{l} {b} {e} {p}\n" for l, b, e, p in tracks.tolist())
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="ascii")
    return Path(path)


# --- ground truth ----------------------------------------------------------------------------

class CTCGroundTruth:
    """Ground truth (``NN_GT``) or silver truth (``NN_ST``) of one sequence, read lazily.

    ``seg_frames`` lists the frames with any SEG annotation, full-frame or slice form;
    ``seg(t)`` returns the full-frame labels (``None`` when frame ``t`` has none), ``seg_slices(t)``
    the slice-form labels ``{z: (Y, X)}`` (empty when none), ``tra(t)`` the TRA markers and
    ``tracks`` the ``man_track.txt`` table (``None`` when absent).
    """

    def __init__(self, gt_dir: str | Path):
        self.path = Path(gt_dir)
        if not self.path.is_dir():
            raise InputError(self.path, "ground-truth folder not found")
        seg_dir, tra_dir = self.path / "SEG", self.path / "TRA"
        if not seg_dir.is_dir() and not tra_dir.is_dir():
            raise InputError(self.path, "holds neither a SEG nor a TRA folder")
        self._seg = _scan(seg_dir, _SEG)
        self._slices: dict[int, dict[int, Path]] = {}
        for (t, z), path in _scan(seg_dir, _SEG_SLICE).items():
            self._slices.setdefault(t, {})[z] = path
        self._tra = _scan(tra_dir, _TRA)
        track_path = tra_dir / TRACK_FILE
        self.track_path = track_path if track_path.is_file() else None

    def __repr__(self) -> str:
        return (f"CTCGroundTruth({str(self.path)!r}, seg_frames={len(self.seg_frames)}, "
                f"tra_frames={len(self.tra_frames)})")

    @property
    def seg_frames(self) -> list[int]:
        return sorted(set(self._seg) | set(self._slices))

    @property
    def full_seg_frames(self) -> list[int]:
        """Frames with full-frame SEG (``man_segTTT.tif``)."""
        return sorted(self._seg)

    def slice_indices(self, t: int) -> list[int]:
        """Slices z annotated in slice form (``man_seg_TTT_ZZZ.tif``) for frame ``t``."""
        return sorted(self._slices.get(t, {}))

    @property
    def tra_frames(self) -> list[int]:
        return sorted(self._tra)

    def seg(self, t: int) -> np.ndarray | None:
        """Full-frame SEG labels of frame ``t`` (``(Y, X)`` or ``(Z, Y, X)``) or ``None``."""
        path = self._seg.get(t)
        return None if path is None else read_labels(path)

    def seg_slices(self, t: int) -> dict[int, np.ndarray]:
        """Slice-form SEG labels of frame ``t``: ``{z: (Y, X) labels}``, empty when none."""
        out = {}
        for z, path in sorted(self._slices.get(t, {}).items()):
            labels = read_labels(path)
            if labels.ndim != 2:
                raise InputError(path, f"a SEG slice must be 2D, got shape {labels.shape}")
            out[z] = labels
        return out

    def tra(self, t: int) -> np.ndarray | None:
        """TRA marker labels of frame ``t`` or ``None``."""
        path = self._tra.get(t)
        return None if path is None else read_labels(path)

    @cached_property
    def tracks(self) -> np.ndarray | None:
        """``man_track.txt`` as int64 ``(N, 4)`` ``L B E P``, or ``None`` when there is none."""
        return None if self.track_path is None else read_track_file(self.track_path)


# --- sequences -------------------------------------------------------------------------------

@dataclass
class CTCFrame:
    """One frame with its annotations (``None`` / empty where the frame has none)."""

    t: int
    image: np.ndarray
    seg: np.ndarray | None = None
    seg_slices: dict[int, np.ndarray] = field(default_factory=dict)
    tra: np.ndarray | None = None


class CTCSequence:
    """A CTC sequence folder ``.../NN`` with ``frames``, lazy ``image(t)``, and the ground truth
    ``gt`` (``NN_GT``) and silver truth ``silver`` (``NN_ST``) when present beside it.

    Iterating yields :class:`CTCFrame` objects one at a time (image and GT read when reached), with
    every annotation checked to cover the frame's shape.
    """

    def __init__(self, seq_dir: str | Path):
        self.path = Path(seq_dir)
        if not self.path.is_dir():
            raise InputError(self.path, "sequence folder not found")
        self._frames = _scan(self.path, _FRAME)
        if not self._frames:
            raise InputError(self.path, "no frames named tTTT.tif in sequence folder")
        self.name = self.path.name
        self.dataset_dir = self.path.parent
        gt_dir, st_dir = self.dataset_dir / f"{self.name}_GT", self.dataset_dir / f"{self.name}_ST"
        self.gt = CTCGroundTruth(gt_dir) if gt_dir.is_dir() else None
        self.silver = CTCGroundTruth(st_dir) if st_dir.is_dir() else None

    def __repr__(self) -> str:
        return f"CTCSequence({str(self.path)!r}, frames={len(self)}, gt={self.gt is not None})"

    @property
    def frames(self) -> list[int]:
        return sorted(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, t: object) -> bool:
        return t in self._frames

    def frame_path(self, t: int) -> Path:
        if t not in self._frames:
            raise InputError(self.path, f"no frame {t} (frames {self.frames[0]}–{self.frames[-1]})")
        return self._frames[t]

    def image(self, t: int) -> np.ndarray:
        """Frame ``t`` as stored: ``(Y, X)`` or ``(Z, Y, X)``."""
        return read_array(self.frame_path(t))

    def intensity_range(self) -> tuple[float, float]:
        """``(min, max)`` intensity over every frame (read one at a time), for per-sequence
        normalisation (:func:`~microseg.preprocess.normalize.intensity_range`)."""
        return intensity_range(map(self.image, self.frames))

    def frame(self, t: int, truth: str = "gt") -> CTCFrame:
        """Frame ``t`` with its annotations from ``truth`` (``"gt"`` or ``"silver"``)."""
        if truth not in ("gt", "silver"):
            raise InputError(self.path, f"truth must be 'gt' or 'silver', got {truth!r}")
        image = self.image(t)
        source = self.gt if truth == "gt" else self.silver
        if source is None:
            return CTCFrame(t, image)
        seg, slices, tra = source.seg(t), source.seg_slices(t), source.tra(t)
        for name, labels in (("SEG", seg), ("TRA", tra)):
            if labels is not None:
                check_same_shape(image, labels, source.path / name)
        for z, labels in slices.items():
            if image.ndim != 3 or not 0 <= z < image.shape[0] or labels.shape != image.shape[1:]:
                raise InputError(source.path / "SEG", f"slice z={z} of frame {t} with shape "
                                                      f"{labels.shape} does not fit the frame "
                                                      f"{image.shape}")
        return CTCFrame(t, image, seg, slices, tra)

    def __iter__(self) -> Iterator[CTCFrame]:
        return (self.frame(t) for t in self.frames)


def find_sequences(path: str | Path) -> list[CTCSequence]:
    """The sequences of a CTC dataset folder (subfolders ``NN`` with frames), or ``[sequence]``
    when ``path`` is itself a sequence folder."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(path, "folder not found")
    if _scan(path, _FRAME):
        return [CTCSequence(path)]
    found = [CTCSequence(p) for p in sorted(path.iterdir())
             if p.is_dir() and _SEQUENCE.match(p.name) and _scan(p, _FRAME)]
    if not found:
        raise InputError(path, "no CTC sequence (folder NN with tTTT.tif frames) found")
    return found


TRUTHS = ("gt", "silver", "gt+silver")
#: ``ignore(seg, markers)``: bool mask of the unknown labels of a frame from its SEG labels and
#: TRA markers (same shape), e.g. :func:`microseg.data.sparse.unannotated_mask`
IgnoreRule = Callable[[np.ndarray, np.ndarray], np.ndarray]


def ctc_items(src: str | Path, truth: str = "gt",
              ignore: IgnoreRule | None = None) -> list[LabelledItem]:
    """Labelled items of every frame with SEG annotation in the sequence(s) under ``src``.

    ``truth``: ``gt`` (``NN_GT``), ``silver`` (``NN_ST``) or ``gt+silver`` (gold where a frame
    has it, else silver). Full-frame SEG gives one item ``<dataset>_<NN>_tTTT``; a frame with
    slice-form SEG only gives one 2D item per annotated slice ``<dataset>_<NN>_tTTT_zZZZ``
    (image slice z of the 3D frame). Frames without SEG are skipped. Items are grouped by
    sequence (``<dataset>_<NN>``), positioned at their frame ``t``, carry ``meta`` ``path`` (the
    frame file), ``sequence``, ``t``, ``truth`` (``gt`` / ``silver``) and ``z`` (slice form), and
    their sequence's ``intensity_range`` over all frames. CTC SEG can be sparse (not every
    object labelled): with an ``ignore`` rule, ``item.ignore()`` applies it to the item's labels
    and the ``NN_GT`` TRA markers (also for silver truth; None without markers).
    """
    if truth not in TRUTHS:
        raise InputError(src, f"truth must be one of {TRUTHS}, got {truth!r}")
    items, looked_in = [], []
    for seq in find_sequences(src):
        truth_of = _truths(seq, truth.split("+"))
        looked_in += [f"{seq.name}_{'GT' if kind == 'gt' else 'ST'}" for kind in truth.split("+")]
        prefix = f"{seq.dataset_dir.name}_{seq.name}"
        frame_of = lru_cache(maxsize=1)(seq.frame)  # one read for a frame's items
        span = lru_cache(maxsize=1)(seq.intensity_range)
        for t, kind in sorted(truth_of.items()):
            annotation = seq.gt if kind == "gt" else seq.silver
            if t not in seq:
                raise InputError(annotation.path / "SEG", f"annotation of frame {t} has no frame "
                                                          f"in {seq.path}")
            meta = {"path": str(seq.frame_path(t)), "sequence": str(seq.path), "t": t,
                    "truth": kind}
            slices = [None] if t in annotation.full_seg_frames else annotation.slice_indices(t)
            for z in slices:
                name = f"{prefix}_t{t:03d}" + ("" if z is None else f"_z{z:03d}")
                items.append(LabelledItem(
                    name, _loader(frame_of, t, kind, z), meta if z is None else {**meta, "z": z},
                    group=prefix, position=t, intensity_range=span,
                    ignore=None if ignore is None else _ignore_loader(seq, frame_of, t, kind, z,
                                                                      ignore)))
    if not items:
        raise InputError(src, f"no frame with SEG annotation ({truth}) found in "
                              f"{', '.join(looked_in)}")
    return items


def _truths(seq: CTCSequence, wanted: list[str]) -> dict[int, str]:
    """Frame → ``gt`` / ``silver``: which annotation a frame's item uses (gold first)."""
    truth_of: dict[int, str] = {}
    for kind in reversed(wanted):  # gold last: it wins where both exist
        annotation = seq.gt if kind == "gt" else seq.silver
        if annotation is not None:
            truth_of.update(dict.fromkeys(annotation.seg_frames, kind))
    return truth_of


def _loader(frame_of: Callable[[int, str], CTCFrame], t: int, truth: str, z: int | None):
    def load() -> tuple[np.ndarray, np.ndarray]:
        frame = frame_of(t, truth)
        if z is None:
            return frame.image, frame.seg
        return frame.image[z], frame.seg_slices[z]

    return load


def _ignore_loader(seq: CTCSequence, frame_of: Callable[[int, str], CTCFrame], t: int,
                   truth: str, z: int | None, rule: IgnoreRule):
    def ignore() -> np.ndarray | None:
        frame = frame_of(t, truth)
        if truth == "gt":
            markers = frame.tra
        else:
            markers = None if seq.gt is None else seq.gt.tra(t)
            if markers is not None:
                check_same_shape(frame.image, markers, seq.gt.path / "TRA")
        if markers is None:
            return None
        if z is None:
            return rule(frame.seg, markers)
        return rule(frame.seg_slices[z], markers[z])

    return ignore


# --- writers ---------------------------------------------------------------------------------

def write_ctc_sequence(dataset_dir: str | Path, seq: int | str, images: Sequence[np.ndarray],
                       seg: Mapping[int, np.ndarray] | None = None,
                       tra: Mapping[int, np.ndarray] | None = None,
                       tracks: np.ndarray | None = None, *,
                       seg_slices: Mapping[int, Mapping[int, np.ndarray]] | None = None,
                       gt_folder: str = "GT") -> Path:
    """Write a sequence in CTC layout; returns the sequence folder ``dataset_dir/NN``.

    ``images[t]`` is frame ``t`` (``(Y, X)`` or ``(Z, Y, X)``) → ``NN/tTTT.tif``; ``seg[t]`` →
    ``NN_GT/SEG/man_segTTT.tif``; ``seg_slices[t][z]`` (``(Y, X)``) →
    ``NN_GT/SEG/man_seg_TTT_ZZZ.tif``; ``tra[t]`` → ``NN_GT/TRA/man_trackTTT.tif``; ``tracks``
    (``(N, 4)`` L B E P) → ``NN_GT/TRA/man_track.txt``. ``gt_folder="ST"`` writes silver truth.
    Everything is checked before the first file is written; each file is written atomically.
    """
    name = f"{seq:02d}" if isinstance(seq, (int, np.integer)) else str(seq)
    root = Path(dataset_dir)
    seq_dir, gt_dir = root / name, root / f"{name}_{gt_folder}"
    images = [np.asarray(im) for im in images]
    if not images:
        raise InputError(seq_dir, "no frames to write")
    seg, tra, seg_slices = dict(seg or {}), dict(tra or {}), dict(seg_slices or {})
    for kind, annotations in (("SEG", seg), ("TRA", tra)):
        for t, labels in annotations.items():
            _check_frame_index(t, len(images), gt_dir / kind)
            check_same_shape(images[t], np.asarray(labels), gt_dir / kind)
    for t, slices in seg_slices.items():
        _check_frame_index(t, len(images), gt_dir / "SEG")
        for z, labels in slices.items():
            shape = images[t].shape
            if len(shape) != 3 or not 0 <= z < shape[0] or np.shape(labels) != shape[1:]:
                raise InputError(gt_dir / "SEG", f"slice z={z} of frame {t} with shape "
                                                 f"{np.shape(labels)} does not fit frame {shape}")
    if tracks is not None:
        tracks = check_tracks(tracks, gt_dir / "TRA" / TRACK_FILE)
    width = index_width(len(images) - 1)
    for t, image in enumerate(images):
        write_image(seq_dir / f"t{t:0{width}d}.tif", image, compression=COMPRESSION,
                    axes="ZYX" if np.ndim(image) == 3 else None)
    for t, labels in seg.items():
        write_labels(gt_dir / "SEG" / f"man_seg{t:0{width}d}.tif", labels, COMPRESSION)
    for t, slices in seg_slices.items():
        z_width = index_width(images[t].shape[0] - 1)
        for z, labels in slices.items():
            write_labels(gt_dir / "SEG" / f"man_seg_{t:0{width}d}_{z:0{z_width}d}.tif", labels,
                         COMPRESSION)
    for t, labels in tra.items():
        write_labels(gt_dir / "TRA" / f"man_track{t:0{width}d}.tif", labels, COMPRESSION)
    if tracks is not None:
        write_track_file(gt_dir / "TRA" / TRACK_FILE, tracks)
    return seq_dir


def write_ctc_result(res_dir: str | Path, masks: Mapping[int, np.ndarray],
                     tracks: np.ndarray | None = None) -> Path:
    """Write a result folder: ``maskTTT.tif`` (uint16, or uint32 past 65535 ids) per frame and,
    when ``tracks`` is given, ``res_track.txt``. Returns ``res_dir``."""
    res_dir = Path(res_dir)
    if not masks:
        raise InputError(res_dir, "no masks to write")
    if any(int(t) < 0 for t in masks):
        raise InputError(res_dir, f"frame indices must be ≥ 0, got {sorted(masks)}")
    checked = {int(t): as_labels(m, res_dir / f"mask{int(t):03d}.tif") for t, m in masks.items()}
    if tracks is not None:
        tracks = check_tracks(tracks, res_dir / RESULT_TRACK_FILE)
    width = index_width(max(checked))
    for t, labels in checked.items():
        write_labels(res_dir / f"mask{t:0{width}d}.tif", labels, COMPRESSION)
    if tracks is not None:
        write_track_file(res_dir / RESULT_TRACK_FILE, tracks)
    return res_dir


def read_ctc_result(res_dir: str | Path) -> tuple[dict[int, np.ndarray], np.ndarray | None]:
    """Read a result folder → ``({t: labels}, tracks or None)``."""
    res_dir = Path(res_dir)
    if not res_dir.is_dir():
        raise InputError(res_dir, "result folder not found")
    paths = _scan(res_dir, _MASK)
    if not paths:
        raise InputError(res_dir, "no maskTTT.tif files in result folder")
    masks = {t: read_labels(p) for t, p in sorted(paths.items())}
    track_path = res_dir / RESULT_TRACK_FILE
    return masks, (read_track_file(track_path) if track_path.is_file() else None)


# --- helpers ---------------------------------------------------------------------------------

def _scan(folder: Path, pattern: re.Pattern) -> dict:
    """Files of ``folder`` whose names match ``pattern``, keyed by the int group(s)."""
    if not folder.is_dir():
        return {}
    found: dict = {}
    for path in folder.iterdir():
        match = pattern.match(path.name)
        if match is None or not path.is_file():
            continue
        key = tuple(int(g) for g in match.groups())
        key = key[0] if len(key) == 1 else key
        if key in found:
            raise InputError(folder, f"{found[key].name} and {path.name} name the same index {key}")
        found[key] = path
    return found


def _check_frame_index(t: int, n_frames: int, path: Path) -> None:
    if not 0 <= t < n_frames:
        raise InputError(path, f"annotation for frame {t}, but there are {n_frames} frames")
