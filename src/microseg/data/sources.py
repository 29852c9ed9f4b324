"""Read the datasets of a :class:`~microseg.data.config.DataConfig` into in-memory samples.

Each source kind lists *entries* (one per image, frame or slice, with its group, position and
the splits its files assign it to) without reading pixels (ISBI stacks excepted); a split selects
entries; only the selected entries are read, converted to ``channels``, normalised and, if asked, rescaled. A CTC frame entry can yield
several 2D samples (the annotated slices of a 3D frame).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from microseg.data.config import ALL, DataConfig, SourceConfig, resolve
from microseg.data.modality import guess_modality
from microseg.data.rescale import median_diameter, rescale_sample, scale_to_diameter
from microseg.data.sample import Sample
from microseg.data.sparse import unannotated_mask
from microseg.data.splits import group_of, parse_filename_metadata, range_split
from microseg.errors import ConfigError, InputError, warnings_naming
from microseg.io.images import as_labels, check_same_shape
from microseg.preprocess.channels import to_channels
from microseg.preprocess.normalize import Normalization, intensity_range


@dataclass
class _Piece:
    """Raw arrays of one sample as read from disk (image axes as stored)."""

    image: np.ndarray
    labels: np.ndarray
    ignore: np.ndarray | None = None
    suffix: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Entry:
    """A listed but not yet read item of a source."""

    name: str
    group: str
    load: Callable[[], list[_Piece]]
    meta: dict[str, Any]
    position: int | None = None
    tags: tuple[str, ...] = ()
    intensity_range: Callable[[], tuple[float, float]] | None = None


def load_samples(config: DataConfig, split: str) -> list[Sample]:
    """Samples of ``split`` from every source of ``config`` that defines it, in source order.

    Raises :class:`ConfigError` when no source defines ``split``, and :class:`InputError` (naming
    the path) for missing files, split files naming unknown ids, shape mismatches and empty
    splits.
    """
    defined = [s for s in config.sources if split in s.splits]
    if not defined:
        known = sorted({n for s in config.sources for n in s.splits})
        raise ConfigError(f"data: no source defines split {split!r}; defined: {known}")
    names = [source_name(s, config.root) for s in config.sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"data: several sources are named {repeated}; give each a 'name'")
    samples: list[Sample] = []
    for source in defined:
        samples.extend(load_source(source, split, config.root))
    return samples


def load_source(source: SourceConfig, split: str, root: str | None = None) -> list[Sample]:
    """Samples of one source for ``split`` (``all``: every item). Sample names and groups are
    prefixed by the source name; ``meta`` holds ``source``, ``kind``, ``path``, ``modality`` and
    the per-kind details (frame, slice, truth, file-name fields, …)."""
    if split not in source.splits:
        raise ConfigError(f"source {source_name(source, root)!r} does not define split "
                          f"{split!r}; it defines {source.splits}")
    name = source_name(source, root)
    entries = _LISTERS[source.kind](source, root)
    if not entries:
        raise InputError(_source_path(source, root), f"source {name!r} has no item (include "
                                                     f"{source.include} rejects every file)")
    _check_unique(entries, _source_path(source, root))
    chosen = _select(source, entries, split)
    if not chosen:
        raise InputError(_source_path(source, root), f"split {split!r} of source {name!r} is empty")
    samples = []
    for entry in tqdm(chosen, desc=f"{name} {split}", unit="image", disable=None, leave=False):
        samples.extend(_sample(source, name, entry, piece) for piece in entry.load()
                       if _modality_included(source, entry, piece))
    if not samples:
        among = (f" of modality {source.include_modalities}" if source.include_modalities
                 else "")
        raise InputError(_source_path(source, root),
                         f"split {split!r} of source {name!r} holds no annotated image{among}")
    if source.scale is not None:
        return [rescale_sample(s, source.scale) for s in samples]
    if source.diameter is not None and source.diameter_per_image:
        return scale_to_diameter(samples, source.diameter, per_sample=True)
    if source.diameter is not None:
        picked = {id(e) for e in chosen}  # the factor is measured on the whole source
        rest = [piece.labels for e in entries if id(e) not in picked for piece in e.load()]
        measured = median_diameter([s.labels for s in samples] + rest)
        if np.isnan(measured):
            raise InputError(_source_path(source, root), f"source {name!r} holds no object to "
                                                         f"measure a diameter on")
        return [rescale_sample(s, source.diameter / measured) for s in samples]
    return samples


_GENERIC = {"images", "imgs", "train", "val", "test", "annotations", ""}


def source_name(source: SourceConfig, root: str | None = None) -> str:
    """``source.name``, else the nearest folder above the data whose name is not generic
    (``images``, ``train``, ``val``, ``test``, …), e.g. ``isbi2012`` for
    ``isbi2012/train/images`` and ``Fluo-N2DH-GOWT1`` for ``Fluo-N2DH-GOWT1/01``."""
    if source.name:
        return source.name
    path = _source_path(source, root).absolute()
    for folder in path.parents:
        if folder.name.lower() not in _GENERIC:
            return folder.name
    return source.kind


def _modality_included(source: SourceConfig, entry: _Entry, piece: _Piece) -> bool:
    if not source.include_modalities:
        return True
    path = piece.meta.get("path", entry.meta.get("path"))
    return guess_modality(piece.image, path) in source.include_modalities


def _sample(source: SourceConfig, name: str, entry: _Entry, piece: _Piece) -> Sample:
    meta = {"source": name, "kind": source.kind, "modality": source.modality,
            **entry.meta, **piece.meta}
    path = meta.get("path")
    image = to_channels(piece.image, source.channels, source.ndim, path)
    labels = as_labels(piece.labels, meta.get("labels_path", path))
    check_same_shape(image, labels, meta.get("labels_path", path), channel_axis=0)
    try:
        with warnings_naming(path):
            image, meta["bright_background"] = _normalize(image, source, entry)
    except InputError as exc:
        raise InputError(exc.path or path, exc.reason) from None
    ignore = piece.ignore if piece.ignore is not None and piece.ignore.any() else None
    return Sample(image=image, labels=labels, name=f"{name}/{entry.name}{piece.suffix}",
                  group=f"{name}/{entry.group}", ignore=ignore, meta=meta)


def source_normalization(source: SourceConfig) -> Normalization:
    """The normalisation of ``source``'s images, as a checkpoint records it for inference."""
    return Normalization(method=source.normalize, percentiles=list(source.percentiles),
                         per_channel=source.per_channel, dark_background=source.dark_background,
                         channels=source.channels)


def _normalize(image: np.ndarray, source: SourceConfig, entry: _Entry
               ) -> tuple[np.ndarray, bool]:
    """``(C, *spatial)`` float32 → (normalised float32, whether its bright background was
    inverted) (see ``SourceConfig.normalize`` and ``SourceConfig.dark_background``);
    ``sequence`` uses the whole sequence's range."""
    intensity = entry.intensity_range() if source.normalize == "sequence" else None
    return source_normalization(source).apply(image, intensity)


def _select(source: SourceConfig, entries: list[_Entry], split: str) -> list[_Entry]:
    if split == ALL:
        return entries
    if source.split is not None:
        index = source.split.apply([e.group for e in entries]).get(split, [])
    elif source.ranges:
        index = range_split([e.position for e in entries], source.ranges)[split]
    else:
        index = [i for i, e in enumerate(entries) if split in e.tags]
    return [entries[i] for i in index]


def _check_unique(entries: list[_Entry], path: Path) -> None:
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        seen: set[str] = set()
        repeated = sorted({n for n in names if n in seen or seen.add(n)})
        raise InputError(path, f"several items share the name(s) {repeated[:10]}")


def _source_path(source: SourceConfig, root: str | None) -> Path:
    first = {"folder": source.images, "isbi": source.images,
             "ctc": (source.sequences or [""])[0],
             "coco": next(iter((source.annotations or {"": ""}).values()))}[source.kind]
    return resolve(first, root)


# --- file-name metadata (folder, coco) -------------------------------------------------------

def _fields(source: SourceConfig, file_name: str) -> dict[str, str] | None:
    """Parsed file-name fields, ``{}`` without a pattern, ``None`` when ``include`` rejects it."""
    if not source.pattern:
        return {}
    fields = parse_filename_metadata(file_name, source.pattern)
    for key, allowed in (source.include or {}).items():
        if key not in fields:
            raise ConfigError(f"include key {key!r} is not a field of pattern {source.pattern!r}")
        if fields[key] not in {str(v) for v in allowed}:
            return None
    return fields


def _group(source: SourceConfig, fields: dict[str, str], default: str) -> str:
    return group_of(fields, source.group_by) if source.group_by else default


# --- folder ----------------------------------------------------------------------------------

def _folder_entries(source: SourceConfig, root: str | None) -> list[_Entry]:
    from microseg.io.folders import read_id_list

    images, labels = resolve(source.images, root), resolve(source.labels, root)
    if source.ids:
        tagged: list[tuple[Path, Path, str]] = []
        owner: dict[str, str] = {}
        for split, id_file in source.ids.items():
            id_path = resolve(id_file, root)
            ids = read_id_list(id_path)
            clash = [i for i in ids if i in owner]
            if clash:
                raise InputError(id_path, f"ids also listed for split {owner[clash[0]]!r}: "
                                          f"{clash[:10]}")
            owner.update(dict.fromkeys(ids, split))
            try:
                pairs = _folder_pairs(source, images, labels, ids)
            except InputError as exc:
                raise InputError(id_path, f"lists ids that cannot be used: {exc}") from None
            tagged.extend((image, label, split) for image, label in pairs)
    else:
        tagged = [(image, label, "") for image, label in
                  _folder_pairs(source, images, labels, None)]
    entries = []
    for image, label, split in tagged:
        fields = _fields(source, image.name)
        if fields is None:
            continue
        entries.append(_Entry(
            name=image.stem, group=_group(source, fields, image.stem),
            load=functools.partial(_read_folder_pair, image, label),
            meta={"path": str(image), "labels_path": str(label), **fields},
            tags=(split,) if split else ()))
    return entries


def _folder_pairs(source: SourceConfig, images: Path, labels: Path,
                  ids: list[str] | None) -> list[tuple[Path, Path]]:
    """(image, label) paths: by equal stem, or by ``label_template`` filled with file-name
    fields (one label image shared by several images)."""
    from microseg.io.folders import list_images, pair_by_stem

    if not source.label_template:
        return pair_by_stem(images, labels, ids)
    by_stem = {p.stem: p for p in list_images(images)}
    label_by_stem = {p.stem: p for p in list_images(labels)}
    if ids is not None:
        missing = [i for i in ids if i not in by_stem]
        if missing:
            raise InputError(images, f"ids without an image: {missing[:10]}")
        by_stem = {i: by_stem[i] for i in ids}
    pairs = []
    for stem, image in by_stem.items():
        fields = parse_filename_metadata(image.name, source.pattern)
        try:
            label_stem = source.label_template.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"label_template {source.label_template!r} does not fit the "
                              f"fields {sorted(fields)} of the pattern ({exc})") from None
        if label_stem not in label_by_stem:
            raise InputError(labels, f"no label file {label_stem}.* for image {image.name}")
        pairs.append((image, label_by_stem[label_stem]))
    return pairs


def _read_folder_pair(image: Path, label: Path) -> list[_Piece]:
    from microseg.io.folders import read_pair

    return [_Piece(*read_pair(image, label))]


# --- Cell Tracking Challenge -----------------------------------------------------------------

def _ctc_entries(source: SourceConfig, root: str | None) -> list[_Entry]:
    from microseg.io.ctc import CTCSequence

    sequences = [CTCSequence(resolve(p, root)) for p in source.sequences]
    several = len({seq.dataset_dir.name for seq in sequences}) > 1
    entries = []
    for seq in sequences:
        truth_of = _ctc_truths(seq, source.gt)
        group = f"{seq.dataset_dir.name}/{seq.name}" if several else seq.name
        intensity = functools.lru_cache(maxsize=None)(
            lambda seq=seq: intensity_range(map(seq.image, seq.frames)))
        for t, truth in sorted(truth_of.items()):
            if t not in seq:
                raise InputError(seq.path, f"{truth} SEG annotates frame {t}, which the "
                                           f"sequence lacks")
            entries.append(_Entry(
                name=f"{group}/t{t:03d}", group=group, position=t,
                load=functools.partial(_ctc_pieces, seq, t, truth, source),
                meta={"path": str(seq.frame_path(t)), "sequence": str(seq.path), "frame": t,
                      "truth": truth},
                intensity_range=intensity))
    return entries


def _ctc_truths(seq, gt: str) -> dict[int, str]:
    """Frame → ``gold`` / ``silver``: which annotation a frame's sample uses."""
    wanted = gt.split("+")
    found = {"gold": seq.gt, "silver": seq.silver}
    if all(found[w] is None for w in wanted):
        folders = " or ".join(f"{seq.name}_{'GT' if w == 'gold' else 'ST'}" for w in wanted)
        raise InputError(seq.path, f"no {folders} folder beside the sequence (gt: {gt})")
    truth_of: dict[int, str] = {}
    for kind in reversed(wanted):  # gold last: it wins where both exist
        if found[kind] is not None:
            truth_of.update(dict.fromkeys(found[kind].seg_frames, kind))
    if not truth_of:
        raise InputError(seq.path, f"no frame with SEG annotation (gt: {gt})")
    return truth_of


def _ctc_pieces(seq, t: int, truth: str, source: SourceConfig) -> list[_Piece]:
    """The samples of frame ``t``: the full frame, or its annotated slices when a 3D frame is
    read as 2D samples (slice-form GT, or full 3D GT with ``ndim: 2``: slices holding objects)."""
    frame = seq.frame(t, "gt" if truth == "gold" else "silver")
    markers = None
    if source.ignore_unannotated and seq.gt is not None:
        markers = frame.tra if truth == "gold" else seq.gt.tra(t)
        if markers is not None:
            check_same_shape(frame.image, markers, seq.gt.path / "TRA")

    def ignore_of(seg, tra):
        return None if tra is None else unannotated_mask(seg, tra, source.ignore_margin)

    image = frame.image
    if frame.seg is not None:
        if image.ndim == 3 and source.ndim == 2:
            ignore = ignore_of(frame.seg, markers)
            planes = np.flatnonzero(frame.seg.reshape(frame.seg.shape[0], -1).any(axis=1))
            return [_Piece(image[z], frame.seg[z], None if ignore is None else ignore[z],
                           f"_z{z:03d}", {"z": int(z)}) for z in planes]
        return [_Piece(image, frame.seg, ignore_of(frame.seg, markers))]
    if source.ndim == 3:
        return []  # slice-form ground truth cannot make a 3D sample
    return [_Piece(image[z], labels, ignore_of(labels, None if markers is None else markers[z]),
                   f"_z{z:03d}", {"z": int(z)}) for z, labels in frame.seg_slices.items()]


# --- COCO (LIVECell) -------------------------------------------------------------------------

def _coco_entries(source: SourceConfig, root: str | None) -> list[_Entry]:
    from microseg.io.coco import CocoDataset

    image_root = resolve(source.image_root, root) if source.image_root else None
    entries = []
    for split, json_file in source.annotations.items():
        json_path = resolve(json_file, root)
        dataset = CocoDataset(json_path, image_root)
        for image_id in dataset.image_ids:
            file_name = dataset.file_name(image_id)
            fields = _fields(source, Path(file_name).name)
            if fields is None:
                continue
            stem = Path(file_name).stem
            entries.append(_Entry(
                name=stem, group=_group(source, fields, stem),
                load=functools.partial(_read_coco_image, dataset, image_id),
                meta={"path": str(json_path), "image_id": image_id, "file_name": file_name,
                      **fields},
                tags=(split,)))
    return entries


def _read_coco_image(dataset, image_id: int) -> list[_Piece]:
    return [_Piece(dataset.image(image_id), dataset.labels(image_id))]


# --- ISBI 2012 EM ----------------------------------------------------------------------------

def _isbi_entries(source: SourceConfig, root: str | None) -> list[_Entry]:
    from microseg.io.isbi import membrane_to_instances, read_em_stack

    image_path, label_path = resolve(source.images, root), resolve(source.labels, root)
    stack, membrane = read_em_stack(image_path), read_em_stack(label_path)
    if stack.shape != membrane.shape:
        raise InputError(label_path, f"membrane stack shape {membrane.shape} does not match the "
                                     f"image stack {stack.shape} of {image_path}")
    instances = membrane_to_instances(membrane, path=label_path)
    intensity = intensity_range([stack])
    width = max(2, len(str(len(stack) - 1)))
    return [_Entry(name=f"z{z:0{width}d}", group=f"z{z:0{width}d}", position=z,
                   load=functools.partial(_isbi_piece, stack, instances, z),
                   meta={"path": str(image_path), "labels_path": str(label_path), "slice": z},
                   intensity_range=lambda: intensity)
            for z in range(len(stack))]


def _isbi_piece(stack: np.ndarray, instances: np.ndarray, z: int) -> list[_Piece]:
    return [_Piece(stack[z], instances[z])]


_LISTERS: dict[str, Callable[[SourceConfig, str | None], list[_Entry]]] = {
    "folder": _folder_entries, "ctc": _ctc_entries, "coco": _coco_entries, "isbi": _isbi_entries}
