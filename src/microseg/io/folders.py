"""Folders of images, and image/label folder pairs matched by file stem.

Layout: ``images/<id>.<ext>`` beside ``labels/<id>.<ext>``; the two suffixes may differ (e.g.
``images/a.png`` with ``labels/a.tif``). Hidden files (names starting with ``.``, such as the
temporary files of an interrupted atomic write) are never listed.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.images import IMAGE_SUFFIXES, read_array, read_labels
from microseg.io.items import LabelledItem

_SHOWN = 10  # unmatched names listed in an error message before "… and N more"


def natural_key(path: str | Path) -> tuple:
    """Sort key that orders embedded numbers numerically (``slice_2`` before ``slice_10``)."""
    parts = re.split(r"(\d+)", Path(path).name)
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p.lower()) for p in parts)


def list_images(folder: str | Path, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Image files of ``folder`` (not recursive), in natural order (see :func:`natural_key`).

    Raises :class:`InputError` when the folder is missing or holds no file with one of ``suffixes``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "folder not found")
    wanted = {s.lower() for s in suffixes}
    files = [p for p in folder.iterdir()
             if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in wanted]
    if not files:
        raise InputError(folder, f"no image files ({', '.join(sorted(wanted))}) in folder")
    return sorted(files, key=natural_key)


def read_id_list(path: str | Path) -> list[str]:
    """Ids listed one per line in a split file such as ``train.txt``.

    Blank lines and lines starting with ``#`` are skipped; surrounding whitespace is stripped. A
    missing file, an empty list or a repeated id raises :class:`InputError`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "id list file not found")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read id list ({exc})") from None
    ids = [line.strip() for line in lines]
    ids = [i for i in ids if i and not i.startswith("#")]
    if not ids:
        raise InputError(path, "id list is empty")
    seen: set[str] = set()
    repeated = sorted({i for i in ids if i in seen or seen.add(i)})
    if repeated:
        raise InputError(path, f"ids listed more than once: {_names(repeated)}")
    return ids


def pair_by_stem(image_dir: str | Path, label_dir: str | Path,
                 ids: Iterable[str] | None = None) -> list[tuple[Path, Path]]:
    """Match ``image_dir/<stem>.*`` with ``label_dir/<stem>.*``; returns (image, labels) pairs.

    Without ``ids`` every image must have labels and every label file an image. With ``ids`` only
    those stems are paired (in the order given) and each must exist in both folders. Unmatched
    files, missing ids and two files sharing a stem in one folder raise :class:`InputError` that
    lists them. Without ``ids`` pairs come in natural order of the stem.
    """
    images = _by_stem(Path(image_dir))
    labels = _by_stem(Path(label_dir))
    if ids is None:
        stems = sorted(images, key=natural_key)
        no_image = sorted(set(labels) - set(images), key=natural_key)
        kind = "images", "labels"
    else:
        stems = list(ids)
        no_image = [s for s in stems if s not in images]
        kind = "ids", "ids"
    no_labels = [s for s in stems if s not in labels]
    reasons = [f"{what} in {folder}: {_names(names)}" for what, folder, names in (
        (f"{kind[0]} without labels", label_dir, no_labels),
        (f"{kind[1]} without an image", image_dir, no_image)) if names]
    if reasons:
        raise InputError(image_dir, "unmatched files; " + "; ".join(reasons))
    return [(images[s], labels[s]) for s in stems]


def read_pair(image_path: str | Path, label_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an image and its label image and check that they cover the same pixels.

    The labels' shape must equal the image's shape (grey 2D, 3D) or the image's shape without a
    trailing channel axis of length 2–4 (RGB(A) ``(Y, X, C)``). Returns ``(image, labels)``.
    """
    image = read_array(image_path)
    labels = read_labels(label_path)
    spatial = image.shape
    if image.ndim == labels.ndim + 1 and image.shape[-1] in (2, 3, 4):
        spatial = image.shape[:-1]
    if labels.shape != spatial:
        raise InputError(label_path, f"label shape {labels.shape} does not match the shape "
                                     f"{image.shape} of image {image_path}")
    return image, labels


def pair_by_label_stem(image_dir: str | Path, label_dir: str | Path,
                       label_stem: Callable[[Path], str],
                       ids: Iterable[str] | None = None) -> list[tuple[Path, Path]]:
    """Pair each image of ``image_dir`` (or only those whose stems are ``ids``, in that order)
    with the file of ``label_dir`` whose stem is ``label_stem(image path)``: one label image may
    serve several images (planes, channels); label files no image names are not used. An id
    without an image or an image without its label file raises :class:`InputError`."""
    by_stem = {p.stem: p for p in list_images(image_dir)}
    label_by_stem = {p.stem: p for p in list_images(label_dir)}
    if ids is not None:
        ids = list(ids)
        missing = [i for i in ids if i not in by_stem]
        if missing:
            raise InputError(image_dir, f"ids without an image: {missing[:10]}")
        by_stem = {i: by_stem[i] for i in ids}
    pairs = []
    for image in by_stem.values():
        stem = label_stem(image)
        if stem not in label_by_stem:
            raise InputError(label_dir, f"no label file {stem}.* for image {image.name}")
        pairs.append((image, label_by_stem[stem]))
    return pairs


def folder_items(src: str | Path, ids: Iterable[str] | str | Path | None = None,
                 image_dir: str | Path = "images", label_dir: str | Path = "labels",
                 label_stem: Callable[[Path], str] | None = None) -> list[LabelledItem]:
    """Labelled items of ``src/image_dir`` + ``src/label_dir`` (an absolute folder stands
    alone), paired by equal stem (:func:`pair_by_stem`) or, with ``label_stem``, by
    :func:`pair_by_label_stem`. Items are named after the image stem, with ``meta`` ``path``
    and ``labels_path``.

    ``ids`` is a sequence of stems or the path of an id list file (:func:`read_id_list`).
    """
    src = Path(src)
    if isinstance(ids, (str, Path)):
        ids = read_id_list(ids)
    images, labels = src / image_dir, src / label_dir
    pairs = (pair_by_stem(images, labels, ids) if label_stem is None
             else pair_by_label_stem(images, labels, label_stem, ids))
    return [LabelledItem(name=img.stem, load=_pair_loader(img, lab),
                         meta={"path": str(img), "labels_path": str(lab)}) for img, lab in pairs]


def _pair_loader(image_path: Path, label_path: Path):
    return lambda: read_pair(image_path, label_path)


def _by_stem(folder: Path) -> dict[str, Path]:
    by_stem: dict[str, Path] = {}
    clashes: list[str] = []
    for path in list_images(folder):
        if path.stem in by_stem:
            clashes.append(f"{by_stem[path.stem].name} / {path.name}")
        by_stem[path.stem] = path
    if clashes:
        raise InputError(folder, f"several files share one stem: {_names(clashes)}")
    return by_stem


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" … and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
