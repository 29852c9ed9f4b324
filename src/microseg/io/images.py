"""Read and write single images and label images: TIFF, PNG/JPG, NumPy ``.npy``, OME-Zarr and,
through bioio, microscope formats (CZI, ND2, LIF, …).

:func:`read_image` reads an image as the field means it: an :class:`Image` with its pixels, its
axes named from the file's own metadata (:mod:`microseg.io.axes`), singleton T, C and Z axes
squeezed, its pixel size in µm and its channel names; channels, time points and a scene can be
chosen, and ``lazy=True`` gives a dask array that reads only what is computed (large TIFFs, level 0
of OME-Zarr). :func:`read_array` returns the pixels exactly as stored (see
:mod:`microseg.io.stored` for what each format gives).

>>> image = read_image("cells.ome.tif", channels="DAPI")             # doctest: +SKIP
>>> image.axes, image.spacing, image.channel_names                  # doctest: +SKIP
('YX', (0.65, 0.65), ('DAPI',))
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from microseg.errors import InputError
from microseg.io.atomic import atomic_path
from microseg.io.axes import COLOUR_SIZES, known_axes, name_axes
from microseg.io.select import Channels, Frames, channel_indices, frame_indices
from microseg.io.spacing import spacing_of
from microseg.io.stored import IMAGE_SUFFIXES, MICROSCOPE_SUFFIXES, PIL_SUFFIXES, \
    TIFF_SUFFIXES, handle, open_stored

__all__ = ["IMAGE_SUFFIXES", "MICROSCOPE_SUFFIXES", "PIL_SUFFIXES", "TIFF_SUFFIXES", "Image",
           "as_labels", "check_same_shape", "image_shape", "read_array", "read_image",
           "read_labels", "write_image", "write_labels"]

#: zlib level of PNG writes: 1 is much faster than PIL's default 6 on large overlays, and their
#: files are hardly larger.
PNG_COMPRESS_LEVEL = 1


@dataclass(frozen=True, eq=False)
class Image:
    """An image as read: ``array`` (numpy, or dask with ``lazy=True``) with axes ``axes``
    (letters of ``TCZYXS``, e.g. ``"CYX"``), ``spacing`` the pixel size in µm of each spatial
    axis in the order of ``axes`` (``(Y, X)`` or ``(Z, Y, X)``; None when the file does not give
    them all), ``channel_names`` the names of the channels read, in order (of the C axis, or
    the one channel chosen; empty when the file names none) and the ``path`` read."""

    array: Any
    axes: str
    spacing: tuple[float, ...] | None
    channel_names: tuple[str, ...]
    path: Path | None = None

    @property
    def channel_axis(self) -> int | None:
        """Index of the channel axis C in :attr:`axes`, None without one."""
        return self.axes.index("C") if "C" in self.axes else None


def read_image(path: str | Path, *, channels: Channels | None = None,
               frames: Frames | str | None = None, scene: int | str | None = None,
               channel_axis: int | None = None, lazy: bool = False) -> Image:
    """Read an image file as an :class:`Image` (see the module docstring).

    Args:
        channels: channel index or name (that channel alone; the C axis is dropped) or a
            sequence of them (in that order); of the C axis, or of the RGB samples of a
            colour image. Names match the file's (exactly, else ignoring case).
        frames: time point (the T axis is dropped), sequence or slice of them, or text
            ``"3"``, ``"0:10"``, ``"0,5,9"`` (:mod:`microseg.io.select`).
        scene: index or name of the scene (OME image, Zarr multiscale, CZI/LIF/ND2 scene) to
            read; default the first (with a warning when there are several).
        channel_axis: axis of the file's array holding channels, for a file that does not name
            its axes (a ``.npy`` or plain TIFF with a small first or last axis).
        lazy: return a dask array (nothing read until computed).

    Raises :class:`InputError` naming the file when it is missing, of an unknown type, corrupt,
    empty, ambiguous about its axes without ``channel_axis``, or has no such channel (the
    message lists the file's channels), frame or scene.
    """
    path = Path(path)
    with _reading(path) as stack:
        whole = not lazy and channels is None and frames is None
        stored = open_stored(path, scene, whole, stack)
        shape = tuple(stored.array.shape)
        axes = name_axes(shape, stored.array.dtype, known_axes(stored.letters, shape),
                         channel_axis, path)
        index, kept, names = _selection(path, axes, shape, stored.names, channels, frames)
        array = _take(handle(stored.array), index, lazy)
    if 0 in array.shape:
        raise InputError(path, "image is empty (no pixels)")
    return Image(array, kept, spacing_of(kept, stored.sizes), names, path)


def image_shape(path: str | Path, *, scene: int | str | None = None,
                channel_axis: int | None = None) -> tuple[str, tuple[int, ...]]:
    """The axes (named as :func:`read_image` names them, before squeezing) and shape of an image
    file as stored, reading no pixels of TIFF, OME-Zarr and microscope files. Raises as
    :func:`read_image` does."""
    path = Path(path)
    with _reading(path) as stack:
        stored = open_stored(path, scene, False, stack)
        shape = tuple(stored.array.shape)
        return name_axes(shape, stored.array.dtype, known_axes(stored.letters, shape),
                         channel_axis, path), shape


def read_array(path: str | Path) -> np.ndarray:
    """Read an image file's pixels as stored (axes as the file lays them out, nothing chosen or
    squeezed; see :mod:`microseg.io.stored`). Raises :class:`InputError` naming the file when
    it is missing, of an unknown type, corrupt, or holds no pixels."""
    path = Path(path)
    with _reading(path) as stack:
        array = np.asarray(open_stored(path, None, True, stack).array)
    if array.size == 0:
        raise InputError(path, "image is empty (no pixels)")
    return array


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[contextlib.ExitStack]:
    """Name the file in every error of the block (corrupt or truncated files raise many
    different library errors); close what the block opened on ``stack``."""
    zarr = path.suffix.lower() == ".zarr"
    try:
        with contextlib.ExitStack() as stack:
            yield stack
    except InputError:
        raise
    except Exception as exc:
        what = "Zarr image" if zarr else "image"
        raise InputError(path, f"cannot read {what} ({type(exc).__name__}: {exc})") from None


def _selection(path: Path, axes: str, shape: tuple[int, ...], names: tuple[str, ...],
               channels: Channels | None, frames: Frames | str | None
               ) -> tuple[list[Any], str, tuple[str, ...]]:
    """The index of each axis (an int drops it), the axes kept and the names of the channels
    chosen: the ``channels`` of C (else of the colour samples S), the ``frames`` of T, and
    index 0 of the other singleton T, C and Z axes."""
    letter = "C" if "C" in axes else "S" if "S" in axes else None
    if frames is not None and "T" not in axes:
        raise InputError(path, f"the image has no time axis to choose frames from (axes {axes})")
    if channels is not None and letter is None:
        raise InputError(path, f"the image has no channel axis to choose channels from (axes "
                               f"{axes})")
    index: list[Any] = []
    kept, chosen = "", ()
    for axis, size in zip(axes, shape):
        pick: Any = slice(None)
        if axis == "T" and frames is not None:
            pick = frame_indices(frames, size, path)
        elif axis == letter and channels is not None:
            pick = channel_indices(channels, size, names, path)
        elif axis in "TCZ" and size == 1:
            pick = 0
        if axis == letter:
            picked = range(size) if isinstance(pick, slice) else np.atleast_1d(pick).tolist()
            chosen = tuple(names[i] for i in picked) if len(names) == size else ()
        if not isinstance(pick, int):
            several = size if isinstance(pick, slice) else len(pick)
            kept += "C" if axis == "S" and several not in COLOUR_SIZES else axis
        index.append(pick)
    return index, kept, chosen


def _take(array: Any, index: list[Any], lazy: bool) -> Any:
    """``array`` indexed with one int, list or slice per axis: numpy, or dask when ``lazy``.
    Zarr arrays read only the chosen chunks."""
    if lazy:
        import dask.array as da

        if not isinstance(array, da.Array):
            array = da.from_zarr(array) if hasattr(array, "oindex") else da.from_array(array)
    elif hasattr(array, "oindex"):
        return np.asarray(array.oindex[tuple(index)])
    for axis in reversed(range(len(index))):      # from the last, so dropped axes shift none
        if index[axis] != slice(None):
            array = array[(slice(None),) * axis + (index[axis],)]
    return array if lazy else np.asarray(array)


def as_labels(array: np.ndarray, path: str | Path | None = None) -> np.ndarray:
    """Check that ``array`` is a label image (integers ≥ 0, 0 = background) and return it as an
    unsigned integer array (uint16 when the largest id fits, else uint32).

    Float arrays holding only whole numbers are accepted; fractional or negative values raise
    :class:`InputError` naming ``path``.
    """
    array = np.asarray(array)
    if array.dtype == bool:
        return array.astype(np.uint16)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise InputError(path, f"labels must be whole numbers, got fractional "
                                   f"{array.dtype} values")
    elif array.dtype.kind not in "iu":
        raise InputError(path, f"labels must be integers, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise InputError(path, f"labels must be ≥ 0, found {array.min()}")
    largest = int(array.max()) if array.size else 0
    if largest > np.iinfo(np.uint32).max:
        raise InputError(path, f"label id {largest} does not fit in uint32")
    dtype = np.uint16 if largest <= np.iinfo(np.uint16).max else np.uint32
    return array.astype(dtype, copy=False)


def read_labels(path: str | Path) -> np.ndarray:
    """Read a label image (uint16/uint32, 0 = background); bad values raise :class:`InputError`."""
    return as_labels(read_array(path), path)


def check_same_shape(image: np.ndarray, labels: np.ndarray, path: str | Path | None,
                     channel_axis: int | None = None) -> None:
    """Raise :class:`InputError` when ``labels`` does not cover the spatial shape of ``image``."""
    spatial = image.shape if channel_axis is None else tuple(
        s for i, s in enumerate(image.shape) if i != channel_axis % image.ndim)
    if tuple(labels.shape) != tuple(spatial):
        raise InputError(path, f"label shape {labels.shape} does not match image shape {spatial}")


def write_labels(path: str | Path, labels: np.ndarray, compression: str | None = "zlib") -> Path:
    """Write a label image as TIFF: uint16, or uint32 when ids exceed 65535. Atomic."""
    import tifffile

    labels = as_labels(labels, path)
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, labels, compression=compression, photometric="minisblack")
    return Path(path)


def write_image(path: str | Path, image: np.ndarray, compression: str | None = "zlib",
                axes: str | None = None) -> Path:
    """Write an image as TIFF (any dtype/axes; ``(Y, X, 3|4)`` uint8/uint16 tagged RGB, everything
    else grey pages), PNG/JPG (uint8/uint16 grey or RGB) or ``.npy``. Atomic. ``axes`` (TIFF
    only, e.g. ``"ZYX"``) is stored in the file's metadata, so readers need not guess it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(path, f"unsupported file type {suffix!r}; use one of {IMAGE_SUFFIXES}")
    with atomic_path(path) as tmp:
        if suffix in TIFF_SUFFIXES:
            import tifffile

            image = np.asarray(image)
            tifffile.imwrite(tmp, image, compression=compression, photometric=_photometric(image),
                             metadata={"axes": axes} if axes else {})
        elif suffix in PIL_SUFFIXES:
            from PIL import Image

            options = {"compress_level": PNG_COMPRESS_LEVEL} if suffix == ".png" else {}
            Image.fromarray(np.asarray(image)).save(tmp, format=_pil_format(suffix), **options)
        else:
            with open(tmp, "wb") as fh:
                np.save(fh, np.asarray(image))
    return path


def _photometric(image: np.ndarray) -> str:
    """TIFF colour interpretation: RGB for ``(Y, X, 3|4)`` 8/16-bit images, grey otherwise (so a
    ``(Z, Y, X)`` stack with 3 or 4 slices stays a stack of grey pages)."""
    rgb = image.ndim == 3 and image.shape[-1] in (3, 4) and image.dtype in (np.uint8, np.uint16)
    return "rgb" if rgb else "minisblack"


def _pil_format(suffix: str) -> str:
    return {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}[suffix]
