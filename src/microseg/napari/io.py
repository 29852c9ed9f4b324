"""The plugin's reader and writer (npe2 ``readers`` / ``writers`` contributions).

The reader opens what microseg reads: image files (TIFF, PNG/JPG/BMP, ``.npy``), OME-Zarr
folders, folders of images or frames (a CTC sequence ``NN/tTTT.tif``, ISBI slices: one stack
when they share a shape, else one layer each) and COCO / LIVECell annotation files (each
image with its instance labels). Files microseg wrote as labels (``*_labels.tif``) and images of
a ``labels`` or ``masks`` folder open as labels layers. The writer saves a labels layer as a
label TIFF (uint16, uint32 when needed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from microseg.errors import MicrosegError

LayerData = tuple[np.ndarray, dict[str, Any], str]
#: Folder names whose images are label images.
LABEL_FOLDERS = ("labels", "masks")


def get_reader(path: str | Sequence[str]) -> Callable[[Any], list[LayerData]] | None:
    """npe2 reader: a function reading ``path`` (or each of a list of paths) when microseg
    reads it, else None (napari then asks another plugin)."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    return read_layers if paths and all(_readable(Path(p)) for p in paths) else None


def read_layers(path: str | Sequence[str]) -> list[LayerData]:
    """Layer data of ``path`` (a path or a list; see the module docstring). Errors name the
    file (:class:`~microseg.errors.InputError`)."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    return [layer for p in paths for layer in _read(Path(p))]


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """npe2 writer of one labels layer: a label TIFF at ``path`` (atomic) → ``[path]``."""
    from microseg.io.images import write_labels as write

    return [str(write(path, np.asarray(data)))]


def _readable(path: Path) -> bool:
    from microseg.io.images import IMAGE_SUFFIXES

    suffix = path.suffix.lower()
    if path.is_dir():
        return suffix == ".zarr" or _folder_images(path) is not None
    return suffix in IMAGE_SUFFIXES or (suffix == ".json" and _is_coco(path))


def _read(path: Path) -> list[LayerData]:
    from microseg.io.images import read_array

    if path.suffix.lower() == ".json":
        return _coco_layers(path)
    if path.is_dir() and path.suffix.lower() != ".zarr":
        files = _folder_images(path) or []
        images = [read_array(f) for f in files]
        if len({(i.shape, i.dtype) for i in images}) == 1:
            return [_layer(np.stack(images), path.name, _is_labels(path, images[0]))]
        return [_layer(image, f.stem, _is_labels(f, image)) for f, image in zip(files, images)]
    image = read_array(path)
    return [_layer(image, path.stem, _is_labels(path, image))]


def _layer(data: np.ndarray, name: str, labels: bool) -> LayerData:
    """One layer: labels, or an image whose trailing RGB(A) axis napari shows as colour."""
    if labels:
        return data, {"name": name}, "labels"
    rgb = data.ndim >= 3 and data.shape[-1] in (3, 4) and data.dtype.kind in "ui" \
        and data.shape[-2] > 4
    return data, {"name": name, "rgb": bool(rgb)}, "image"


def _is_labels(path: Path, data: np.ndarray) -> bool:
    """Integer data written as microseg labels (``*_labels``) or kept in a labels folder."""
    named = path.stem.endswith("_labels") or path.parent.name.lower() in LABEL_FOLDERS \
        or path.name.lower() in LABEL_FOLDERS
    return named and data.dtype.kind in "ui"


def _folder_images(path: Path) -> list[Path] | None:
    """The image files of folder ``path`` in natural order, None without any."""
    from microseg.io.folders import list_images

    try:
        return list_images(path)
    except MicrosegError:
        return None


def _is_coco(path: Path) -> bool:
    """Whether a JSON file looks like COCO annotations (read lazily: only its start)."""
    try:
        with open(path, encoding="utf-8") as handle:
            start = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return '"annotations"' in start or '"images"' in start


def _coco_layers(path: Path) -> list[LayerData]:
    """An image layer and its labels layer per image of a COCO file."""
    from microseg.io.coco import coco_items

    layers = []
    for item in coco_items(path):
        image, labels = item.load()
        layers += [_layer(image, item.name, False), (labels, {"name": f"{item.name} labels"},
                                                     "labels")]
    return layers
