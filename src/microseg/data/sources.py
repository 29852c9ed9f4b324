"""Read the datasets of a :class:`~microseg.data.config.DataConfig` into in-memory samples.

Each source kind is a thin wrapper over its :mod:`microseg.io` lister (``folder_items``,
``ctc_items``, ``coco_items``, ``isbi_items``): the config picks the lister's arguments, and the
listed :class:`~microseg.io.items.LabelledItem` objects get the sample names, groups and ``meta``
of training, plus the split their files assign them to. No pixels are read while listing; a split
selects items; only the selected items are read, converted to ``channels``, normalised and, if
asked, rescaled. A 3D CTC frame read as 2D samples gives one sample per annotated slice.
"""
from __future__ import annotations

import dataclasses
import functools
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
from microseg.io.items import LabelledItem
from microseg.preprocess.channels import to_channels
from microseg.preprocess.normalize import Normalization
from microseg.preprocess.stain import is_stained

#: The items of a source, each with the split its files assign it to ("" when they do not)
Listing = list[tuple[LabelledItem, str]]
#: The arrays of one sample as read: image (axes as stored), labels, ignore mask or None, name
#: suffix and extra ``meta``
Piece = tuple[np.ndarray, np.ndarray, "np.ndarray | None", str, dict[str, Any]]


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
    listing = _LISTERS[source.kind](source, root)
    if not listing:
        raise InputError(_source_path(source, root), f"source {name!r} has no item (include "
                                                     f"{source.include} rejects every file)")
    _check_unique([item for item, _ in listing], _source_path(source, root))
    chosen = _select(source, listing, split)
    if not chosen:
        raise InputError(_source_path(source, root), f"split {split!r} of source {name!r} is empty")
    samples = []
    for item in tqdm(chosen, desc=f"{name} {split}", unit="image", disable=None, leave=False):
        samples.extend(_sample(source, name, item, piece) for piece in _pieces(source, item)
                       if _modality_included(source, item, piece))
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
        picked = {id(item) for item in chosen}  # the factor is measured on the whole source
        rest = [piece[1] for item, _ in listing if id(item) not in picked
                for piece in _pieces(source, item)]
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


def _pieces(source: SourceConfig, item: LabelledItem) -> list[Piece]:
    """The arrays of the samples of one item: the item itself, or the slices holding objects
    of a 3D CTC frame read as 2D samples; none for a CTC slice item of a 3D source (slice-form
    ground truth cannot make a 3D sample)."""
    if source.kind == "ctc" and source.ndim == 3 and "z" in item.meta:
        return []
    image, labels = item.load()
    ignore = None if item.ignore is None else item.ignore()
    if source.kind == "ctc" and source.ndim == 2 and labels.ndim == 3:
        planes = np.flatnonzero(labels.reshape(labels.shape[0], -1).any(axis=1))
        return [(image[z], labels[z], None if ignore is None else ignore[z], f"_z{z:03d}",
                 {"z": int(z)}) for z in planes]
    return [(image, labels, ignore, "", {})]


def _modality_included(source: SourceConfig, item: LabelledItem, piece: Piece) -> bool:
    if not source.include_modalities:
        return True
    return guess_modality(piece[0], item.meta.get("path")) in source.include_modalities


def _sample(source: SourceConfig, name: str, item: LabelledItem, piece: Piece) -> Sample:
    image, labels, ignore, suffix, extra = piece
    meta = {"source": name, "kind": source.kind, "modality": source.modality, **item.meta,
            **extra}
    path = meta.get("path")
    stained = (source.ndim == 2 and image.ndim == 3 and image.shape[-1] in (3, 4)
               and is_stained(image, path))
    image = to_channels(image, source.channels, source.ndim, path)
    labels = as_labels(labels, meta.get("labels_path", path))
    check_same_shape(image, labels, meta.get("labels_path", path), channel_axis=0)
    try:
        with warnings_naming(path):
            image, meta["bright_background"] = _normalize(image, source, item, stained)
    except InputError as exc:
        raise InputError(exc.path or path, exc.reason) from None
    ignore = ignore if ignore is not None and ignore.any() else None
    return Sample(image=image, labels=labels, name=f"{name}/{item.name}{suffix}",
                  group=f"{name}/{item.group}", ignore=ignore, meta=meta)


def source_normalization(source: SourceConfig) -> Normalization:
    """The normalisation of ``source``'s images, as a checkpoint records it for inference."""
    return Normalization(method=source.normalize, percentiles=list(source.percentiles),
                         per_channel=source.per_channel, dark_background=source.dark_background,
                         channels=source.channels)


def _normalize(image: np.ndarray, source: SourceConfig, item: LabelledItem, stained: bool
               ) -> tuple[np.ndarray, bool]:
    """``(C, *spatial)`` float32 → (normalised float32, whether its bright background was
    inverted) (see ``SourceConfig.normalize`` and ``SourceConfig.dark_background``; ``stained``
    as inference decides it, :func:`~microseg.preprocess.stain.is_stained` of the image as
    read); ``sequence`` uses the whole sequence's (or stack's) range."""
    intensity = item.intensity_range() if source.normalize == "sequence" else None
    return source_normalization(source).apply(image, intensity, stained)


def _select(source: SourceConfig, listing: Listing, split: str) -> list[LabelledItem]:
    items = [item for item, _ in listing]
    if split == ALL:
        return items
    if source.split is not None:
        index = source.split.apply([item.group for item in items]).get(split, [])
    elif source.ranges:
        index = range_split([item.position for item in items], source.ranges)[split]
    else:
        index = [i for i, (_, assigned) in enumerate(listing) if assigned == split]
    return [items[i] for i in index]


def _check_unique(items: list[LabelledItem], path: Path) -> None:
    names = [item.name for item in items]
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


def _with_fields(source: SourceConfig, listing: Listing, name_key: str) -> Listing:
    """Items whose file name (``meta[name_key]``) the ``include`` filter keeps, with its
    file-name fields added to ``meta`` and, with ``group_by``, their group made of those
    fields."""
    kept = []
    for item, split in listing:
        fields = _fields(source, Path(item.meta[name_key]).name)
        if fields is not None:
            group = group_of(fields, source.group_by) if source.group_by else item.group
            kept.append((dataclasses.replace(item, group=group, meta={**item.meta, **fields}),
                         split))
    return kept


# --- folder ----------------------------------------------------------------------------------

def _folder_listing(source: SourceConfig, root: str | None) -> Listing:
    from microseg.io.folders import folder_items, read_id_list

    images, labels = resolve(source.images, root), resolve(source.labels, root)
    list_pairs = functools.partial(folder_items, "", image_dir=images, label_dir=labels,
                                   label_stem=_label_stem(source))   # full folder paths
    if not source.ids:
        return _with_fields(source, [(item, "") for item in list_pairs()], "path")
    listing: Listing = []
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
            listing.extend((item, split) for item in list_pairs(ids))
        except InputError as exc:
            raise InputError(id_path, f"lists ids that cannot be used: {exc}") from None
    return _with_fields(source, listing, "path")


def _label_stem(source: SourceConfig) -> Callable[[Path], str] | None:
    """With ``label_template``: image path → the stem of its label file, filled in with the
    image's file-name fields (one label image shared by several images)."""
    if not source.label_template:
        return None

    def label_stem(image: Path) -> str:
        fields = parse_filename_metadata(image.name, source.pattern)
        try:
            return source.label_template.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"label_template {source.label_template!r} does not fit the "
                              f"fields {sorted(fields)} of the pattern ({exc})") from None

    return label_stem


# --- Cell Tracking Challenge -----------------------------------------------------------------

_IO_TRUTH = {"gold": "gt", "silver": "silver", "gold+silver": "gt+silver"}
_TRUTH = {"gt": "gold", "silver": "silver"}


def _ctc_listing(source: SourceConfig, root: str | None) -> Listing:
    """Items named ``<NN>/tTTT[_zZZZ]`` and grouped by sequence ``NN`` (``<dataset>/<NN>`` when
    the sequences come from several datasets), positioned at their frame; unannotated cells of
    sparse ground truth ignored (``ignore_unannotated``)."""
    from microseg.io.ctc import ctc_items

    rule = (functools.partial(unannotated_mask, margin=source.ignore_margin)
            if source.ignore_unannotated else None)
    items = [item for path in source.sequences
             for item in ctc_items(resolve(path, root), _IO_TRUTH[source.gt], rule)]
    several = len({Path(item.meta["sequence"]).parent.name for item in items}) > 1
    listing: Listing = []
    for item in items:
        sequence, meta = Path(item.meta["sequence"]), dict(item.meta)
        group = f"{sequence.parent.name}/{sequence.name}" if several else sequence.name
        t = meta.pop("t")
        meta.update(frame=t, truth=_TRUTH[meta["truth"]])
        slice_name = f"_z{meta['z']:03d}" if "z" in meta else ""
        listing.append((dataclasses.replace(item, name=f"{group}/t{t:03d}{slice_name}",
                                            group=group, meta=meta), ""))
    return listing


# --- COCO (LIVECell) -------------------------------------------------------------------------

def _coco_listing(source: SourceConfig, root: str | None) -> Listing:
    from microseg.io.coco import coco_items

    image_root = resolve(source.image_root, root) if source.image_root else None
    listing = [(item, split) for split, json_file in source.annotations.items()
               for item in coco_items(resolve(json_file, root), image_root)]
    return _with_fields(source, listing, "file_name")


# --- ISBI 2012 EM ----------------------------------------------------------------------------

def _isbi_listing(source: SourceConfig, root: str | None) -> Listing:
    """Items named and grouped ``zNN`` by slice, positioned at it."""
    from microseg.io.isbi import isbi_items

    images, labels = resolve(source.images, root), resolve(source.labels, root)
    items = isbi_items(images, labels)
    width = max(2, len(str(len(items) - 1)))
    return [(dataclasses.replace(item, name=f"z{item.position:0{width}d}",
                                 group=f"z{item.position:0{width}d}",
                                 meta={"path": str(images), "labels_path": str(labels),
                                       "slice": item.position}), "")
            for item in items]


_LISTERS: dict[str, Callable[[SourceConfig, str | None], Listing]] = {
    "folder": _folder_listing, "ctc": _ctc_listing, "coco": _coco_listing,
    "isbi": _isbi_listing}
