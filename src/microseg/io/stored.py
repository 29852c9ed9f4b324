"""An image file as stored, one shape for every format: its pixels (in memory, or a handle that
reads only what is sliced), the axis letters its metadata names, its pixel sizes (µm) and its
channel names. :func:`microseg.io.images.read_image` builds on it.

* TIFF (tifffile): the series' axes (OME-XML, ImageJ hyperstacks, shaped TIFFs), sizes and
  names from :mod:`microseg.io.tiffmeta`. A scene is a series (an OME ``Image``). A file
  written page by page (one series per page, not OME) is stacked along a new unnamed first
  axis when all pages share shape and dtype; otherwise its first series is read;
* PNG / JPG / BMP (Pillow): grey stays ``(Y, X)``, RGB becomes ``(Y, X, 3)``; RGBA drops a
  constant alpha channel (the usual case for microscopy exports) and keeps ``(Y, X, 4)``
  otherwise; palette images are expanded to RGB;
* ``.npy``: no axis names (never unpickled);
* a ``.zarr`` folder: OME-Zarr (:mod:`microseg.io.omezarr`), full resolution, or a plain array;
* anything else (CZI, ND2, LIF, …): bioio (:mod:`microseg.io.bioformats`).

A file holding several scenes is read at its first unless one is chosen, with an
:class:`~microseg.errors.InputWarning` saying so.
"""
from __future__ import annotations

import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microseg.errors import InputError, InputWarning
from microseg.io.bioformats import PLUGINS
from microseg.io.select import scene_index

TIFF_SUFFIXES = (".tif", ".tiff")
PIL_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
#: Files microseg reads and writes itself (besides ``.zarr`` folders).
IMAGE_SUFFIXES = TIFF_SUFFIXES + PIL_SUFFIXES + (".npy",)
#: Microscope formats read through bioio (:mod:`microseg.io.bioformats`).
MICROSCOPE_SUFFIXES = tuple(PLUGINS)


@dataclass
class Stored:
    """Pixels as stored (numpy array, ``zarr.Array``, dask array or a tifffile series, whose
    :func:`handle` slices: all have ``shape`` and ``dtype``), the axis letters the file names
    (None: unnamed), pixel sizes (axis letter → µm) and channel names (empty: unnamed)."""

    array: Any
    letters: str | None = None
    sizes: dict[str, float] = field(default_factory=dict)
    names: tuple[str, ...] = ()


def open_stored(path: Path, scene: int | str | None, whole: bool, stack: ExitStack) -> Stored:
    """Open ``path`` (see the module docstring). ``whole``: read every pixel into memory now;
    else read none yet (:func:`handle` reads what is sliced), valid until ``stack`` closes
    (lazy dask arrays made of it stay valid after). Library errors pass through (the caller
    names the file)."""
    if path.suffix.lower() == ".zarr" and path.is_dir():
        return _zarr(path, scene, whole)
    if not path.is_file():
        raise InputError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        return _tiff(path, scene, whole, stack)
    if scene is not None and suffix in PIL_SUFFIXES + (".npy",):
        scene_index(path, scene, ("0",))              # one scene: only 0 is there
    if suffix in PIL_SUFFIXES:
        array = _read_pil(path)
        return Stored(array, "YX" if array.ndim == 2 else "YXS")
    if suffix == ".npy":
        return Stored(np.load(path, mmap_mode=None if whole else "r", allow_pickle=False))
    return _bioio(path, scene, whole)


def _several_scenes(path: Path, count: int) -> None:
    if count > 1:
        warnings.warn(InputWarning(path, f"holds {count} scenes; reading scene 0 (choose one "
                                         f"with --scene / scene=)"), stacklevel=3)


def _tiff(path: Path, scene: int | str | None, whole: bool, stack: ExitStack) -> Stored:
    import tifffile

    from microseg.io.tiffmeta import tiff_metadata

    tif = stack.enter_context(tifffile.TiffFile(path))
    series = tif.series
    if not series:
        raise InputError(path, "TIFF holds no image data")
    first = series[0]
    if scene is None and not tif.is_ome and len(series) > 1 and all(
            s.shape == first.shape and s.dtype == first.dtype for s in series):
        return Stored(np.stack([s.asarray() for s in series]))
    if scene is None:
        index = 0
        if tif.is_ome:
            _several_scenes(path, len(series))
    else:
        index = scene_index(path, scene, [s.name or str(i) for i, s in enumerate(series)])
    chosen = series[index]
    sizes, names = tiff_metadata(tif, index)
    return Stored(chosen.asarray() if whole else chosen, chosen.axes, sizes, names)


def handle(array: Any) -> Any:
    """``Stored.array`` ready to slice: a tifffile series as a ``zarr.Array`` that reads only the
    pages and tiles sliced; anything else as it is."""
    import zarr

    return zarr.open(array.aszarr(), mode="r") if hasattr(array, "aszarr") else array


def _zarr(path: Path, scene: int | str | None, whole: bool) -> Stored:
    from microseg.io.omezarr import ome_axes, ome_metadata, ome_scenes, open_ome_zarr, \
        read_ome_zarr

    count = ome_scenes(path)
    if scene is None:
        _several_scenes(path, count)
    index = 0 if scene is None else scene_index(path, scene, [str(i) for i in range(count)])
    array = read_ome_zarr(path, 0, index) if whole else open_ome_zarr(path, 0, index)
    try:
        names = ome_axes(path, index)
    except InputError:  # a plain Zarr array names no axes
        return Stored(array)
    sizes, channels = ome_metadata(path, index)
    return Stored(array, "".join(n if len(n) == 1 else "?" for n in names), sizes, channels)


def _bioio(path: Path, scene: int | str | None, whole: bool) -> Stored:
    from microseg.io.bioformats import open_bioio

    array, letters, sizes, names, count = open_bioio(path, scene)
    if scene is None:
        _several_scenes(path, count)
    return Stored(array.compute() if whole else array, letters, sizes, names)


def _read_pil(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif image.mode in ("LA", "PA"):
            image = image.convert("RGBA")
        array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 4 and np.all(array[..., 3] == array[0, 0, 3]):
        array = array[..., :3]
    return array
