"""Convert any labelled source (CTC, COCO, ISBI, image/label folders) to one plain layout:
``DST/images/<name>.tif`` (image as read, lossless) and ``DST/labels/<name>.tif`` (uint16/uint32).

Conversion can be interrupted and resumed: every file is written atomically and an item whose two
output files exist is skipped unless ``overwrite`` is set.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from microseg.errors import ConfigError, InputError
from microseg.io.coco import coco_items
from microseg.io.ctc import ctc_items
from microseg.io.folders import folder_items
from microseg.io.images import write_image, write_labels
from microseg.io.isbi import isbi_items
from microseg.io.items import LabelledItem

SOURCES: dict[str, Callable[..., list[LabelledItem]]] = {
    "ctc": ctc_items,
    "coco": coco_items,
    "isbi": isbi_items,
    "folder": folder_items,
}


def source_items(source: str, src: str | Path, **options: Any) -> list[LabelledItem]:
    """Labelled items of ``src`` read as ``source`` (a key of :data:`SOURCES`); ``options`` go to
    that reader (ctc: ``truth``; coco: ``image_root``; isbi: ``labels``; folder: ``ids``,
    ``image_dir``, ``label_dir``)."""
    if source not in SOURCES:
        raise ConfigError(f"unknown source {source!r}; choose one of {sorted(SOURCES)}")
    try:
        items = SOURCES[source](src, **options)
    except TypeError as exc:
        raise ConfigError(f"bad option for source {source!r}: {exc}") from None
    seen: set[str] = set()
    repeated = {item.name for item in items if item.name in seen or seen.add(item.name)}
    if repeated:
        raise InputError(src, f"several items would be written as {sorted(repeated)[:10]}")
    return items


def convert(src: str | Path, dst: str | Path, source: str, overwrite: bool = False,
            progress: bool = True, **options: Any) -> int:
    """Convert ``src`` (read as ``source``) to ``dst/images`` + ``dst/labels``; returns the number
    of items written (skipped, already converted items not counted)."""
    from tqdm import tqdm

    items = source_items(source, src, **options)
    dst = Path(dst)
    written = 0
    for item in tqdm(items, desc=f"convert {source}", unit="image", disable=not progress):
        image_path = dst / "images" / f"{item.name}.tif"
        label_path = dst / "labels" / f"{item.name}.tif"
        if not overwrite and image_path.is_file() and label_path.is_file():
            continue
        image, labels = item.load()
        write_image(image_path, image)
        write_labels(label_path, labels)
        written += 1
    return written
