"""Read and write single images and label images: TIFF, PNG/JPG, NumPy ``.npy`` (and OME-Zarr).

Channel handling for PNG/JPG (documented rule): grey stays ``(Y, X)``; RGB becomes ``(Y, X, 3)``;
RGBA drops the alpha channel when it is constant (the usual case for microscopy exports) and keeps
``(Y, X, 4)`` otherwise; palette images are expanded to RGB. TIFF data is returned as stored
(``(Y, X)``, ``(Z, Y, X)``, ``(Y, X, C)`` …), with every page of a multi-page file stacked: a file
whose pages form one series (ImageJ, OME, shaped) is read as that series; a file written page
by page (one series per page) is stacked along a new first axis when all pages share shape and
dtype, and otherwise only its first series is read. A ``.zarr`` folder is read as OME-Zarr (full
resolution, axes as stored; see :mod:`microseg.io.omezarr`). :func:`read_image_axes` also names
the axes, from the file's metadata where it has any (see :mod:`microseg.io.axes`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.atomic import atomic_path
from microseg.io.axes import image_axes, known_axes

TIFF_SUFFIXES = (".tif", ".tiff")
PIL_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
#: zlib level of PNG writes: 1 is much faster than PIL's default 6 on large overlays, and their
#: files are hardly larger.
PNG_COMPRESS_LEVEL = 1
IMAGE_SUFFIXES = TIFF_SUFFIXES + PIL_SUFFIXES + (".npy",)


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file into a numpy array (axes as stored; see the module docstring).

    Raises :class:`InputError` naming the file when it is missing, of an unknown type, corrupt,
    or holds no pixels.
    """
    return _read(Path(path))[0]


def read_image_axes(path: str | Path, channel_axis: int | None = None) -> tuple[np.ndarray, str]:
    """Read an image file and name its axes with letters of ``TCZYXS`` (e.g. ``"CYX"``), from
    the file's metadata (OME, ImageJ, tifffile shape, OME-Zarr) or else its shape; singleton
    T, C and Z axes are squeezed (see :mod:`microseg.io.axes`). ``channel_axis`` (an axis of
    the array as :func:`read_image` returns it) names the channel axis.

    Raises :class:`InputError` naming the file as :func:`read_image` does, and when its axes are
    ambiguous (a small leading or trailing axis that may hold channels) without ``channel_axis``.
    """
    path = Path(path)
    array, letters = _read(path)
    return image_axes(array, known_axes(letters, array.shape), channel_axis, path)


def _read(path: Path) -> tuple[np.ndarray, str | None]:
    """The image as stored and its axis letters as the file names them (None: not named)."""
    if path.suffix.lower() == ".zarr" and path.is_dir():
        try:
            return _read_zarr(path)
        except InputError:
            raise
        except Exception as exc:  # malformed metadata or chunks raise many library errors
            raise InputError(path, f"cannot read Zarr image ({type(exc).__name__}: {exc})") \
                from None
    if not path.is_file():
        raise InputError(path, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in TIFF_SUFFIXES:
            array, letters = _read_tiff(path)
        elif suffix in PIL_SUFFIXES:
            array = _read_pil(path)
            letters = "YX" if array.ndim == 2 else "YXS"
        elif suffix == ".npy":
            array, letters = np.load(path, allow_pickle=False), None
        else:
            raise InputError(path, f"unsupported file type {suffix!r}; use one of {IMAGE_SUFFIXES}")
    except InputError:
        raise
    except Exception as exc:  # corrupt or truncated files raise many different library errors
        raise InputError(path, f"cannot read image ({type(exc).__name__}: {exc})") from None
    array = np.asarray(array)
    if array.size == 0:
        raise InputError(path, "image is empty (no pixels)")
    return array, letters


def _read_zarr(path: Path) -> tuple[np.ndarray, str | None]:
    """An OME-Zarr image and its axis names (single letters; None for a plain Zarr array)."""
    from microseg.io.omezarr import ome_axes, read_ome_zarr

    array = read_ome_zarr(path)
    try:
        names = ome_axes(path)
    except InputError:  # a plain Zarr array names no axes
        return array, None
    return array, "".join(n if len(n) == 1 else "?" for n in names)


def _read_tiff(path: Path) -> tuple[np.ndarray, str | None]:
    """The first series (or every series stacked along a new unnamed axis when all share shape
    and dtype) and tifffile's axis letters."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series
        if not series:
            raise InputError(path, "TIFF holds no image data")
        first = series[0]
        if len(series) > 1 and all(s.shape == first.shape and s.dtype == first.dtype
                                   for s in series):
            return np.stack([s.asarray() for s in series]), None
        return first.asarray(), first.axes


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
    return as_labels(read_image(path), path)


def check_same_shape(image: np.ndarray, labels: np.ndarray, path: str | Path | None,
                     channel_axis: int | None = None) -> None:
    """Raise :class:`InputError` when ``labels`` does not cover the spatial shape of ``image``."""
    spatial = image.shape if channel_axis is None else tuple(
        s for i, s in enumerate(image.shape) if i != channel_axis % image.ndim)
    if tuple(labels.shape) != tuple(spatial):
        raise InputError(path, f"label shape {labels.shape} does not match image shape {spatial}")


def write_labels(path: str | Path, labels: np.ndarray, compression: str | None = "zlib",
                 spacing: Sequence[float] | None = None) -> Path:
    """Write a label image ``(Y, X)`` or ``(Z, Y, X)`` as TIFF: uint16, or uint32 when ids
    exceed 65535. Atomic.

    ``spacing`` (µm per axis, ``(Y, X)`` or ``(Z, Y, X)``) is stored so that Fiji shows µm: a
    uint16 image is an ImageJ hyperstack (``unit`` ``um``, X/Y resolution in pixels per µm,
    ``spacing`` for Z); ImageJ files cannot hold uint32, so a uint32 image gets the X/Y
    resolution in pixels per centimetre (the TIFF unit that readers convert to µm) and no Z
    spacing.
    """
    import tifffile

    labels = as_labels(labels, path)
    options: dict = {}
    if spacing is not None:
        if len(spacing) != labels.ndim or labels.ndim not in (2, 3) \
                or not all(float(s) > 0 for s in spacing):
            raise InputError(path, f"spacing must be {labels.ndim} positive numbers (one per "
                                   f"axis), got {tuple(spacing)}")
        y, x = (float(s) for s in spacing[-2:])
        if labels.dtype == np.uint16:
            metadata = {"unit": "um", "axes": "ZYX" if labels.ndim == 3 else "YX"}
            if labels.ndim == 3:
                metadata["spacing"] = float(spacing[0])
            options = {"imagej": True, "resolution": (1 / x, 1 / y), "metadata": metadata}
        else:
            options = {"resolution": (1e4 / x, 1e4 / y), "resolutionunit": "CENTIMETER"}
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, labels, compression=compression, photometric="minisblack",
                         **options)
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
