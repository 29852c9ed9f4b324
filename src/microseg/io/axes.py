"""Name the axes of an image as read, from its own metadata or, without any, from its shape.

Axes are letters of ``T C Z Y X S``: time, channel, depth, rows, columns and colour samples
(RGB(A) of size 3 or 4; samples of another size are channels ``C``). C and T are never Z.

Files name their axes through tifffile's ``series.axes`` (OME-XML, ImageJ hyperstacks, shaped
TIFFs written with ``metadata={'axes': …}``, RGB samples) or OME-Zarr ``multiscales`` axes.
Without names (plain page stacks, ``.npy``, other letters), the shape decides:

* ``(Y, X)``;
* ``(Y, X, 3|4)`` uint8 / uint16 with more than 4 rows: an RGB(A) colour image;
* ``(Z, Y, X)`` when the first axis has 1 entry, or it and the last have more than 4;
* anything else (a small leading or trailing axis, 4 or more axes) may hold channels, and
  raises :class:`InputError` asking for the channel axis.

A given ``channel_axis`` names that axis C (it must not contradict the metadata) and the
others ``(Z,) Y, X``. :func:`microseg.io.images.read_image` then squeezes singleton T, C and Z
axes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from microseg.errors import InputError

AXES = "TCZYXS"
#: colour samples: RGB or RGBA
COLOUR_SIZES = (3, 4)
#: first/last axes this small may be channels rather than Z slices or columns
SMALL_AXIS = 4
#: dtypes of RGB(A) image files
COLOUR_DTYPES = (np.uint8, np.uint16)


def known_axes(letters: str | None, shape: tuple[int, ...]) -> str | None:
    """Metadata axis letters (tifffile or OME-Zarr, any case) normalised to :data:`AXES`, or
    None when they are missing or name an axis outside ``T C Z Y X S``."""
    if letters is None or len(letters) != len(shape):
        return None
    letters = letters.upper()
    if any(letter not in AXES for letter in letters):
        return None
    return "".join("C" if letter == "S" and size not in COLOUR_SIZES else letter
                   for letter, size in zip(letters, shape))


def name_axes(shape: tuple[int, ...], dtype: np.dtype, known: str | None,
              channel_axis: int | None = None, path: str | Path | None = None) -> str:
    """The axes of an image of ``shape`` and ``dtype`` as stored (see the module docstring).
    ``known``: the metadata's axes from :func:`known_axes`."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise InputError(path, f"expected an image with at least 2 axes, got shape {shape}")
    if channel_axis is not None:
        return _with_channel(known, shape, channel_axis, path)
    return known or _guessed_axes(shape, np.dtype(dtype), path)


def single_image_channel_axis(axes: str, path: str | Path | None = None) -> int | None:
    """Index of the channel axis C in ``axes`` (None without one) for segmenting one image;
    a time axis raises :class:`InputError`."""
    if "T" in axes:
        raise InputError(path, f"the image is a time series (axes {axes}): choose a frame "
                               f"(--frames / frames=), or segment the file with `microseg "
                               f"segment`, which segments each frame")
    return axes.index("C") if "C" in axes else None


def _guessed_axes(shape: tuple[int, ...], dtype: np.dtype, path: str | Path | None) -> str:
    """Axes of an image whose file does not name them (see the module docstring)."""
    if len(shape) == 2:
        return "YX"
    if len(shape) > 3:
        raise InputError(path, f"the file does not name the axes of its shape {shape}: give the "
                               f"channel axis (--channel-axis / channel_axis), or save it with "
                               f"axes metadata (OME-TIFF or ImageJ)")
    first, last = shape[0], shape[-1]
    if first == 1:
        return "ZYX"
    if first <= SMALL_AXIS:
        raise _ambiguous(path, shape, 0, "channels or Z slices")
    if last in COLOUR_SIZES and dtype in COLOUR_DTYPES:
        return "YXS"
    if last <= SMALL_AXIS:
        raise _ambiguous(path, shape, 2, "channels or columns")
    return "ZYX"


def _ambiguous(path: str | Path | None, shape: tuple[int, ...], axis: int,
               what: str) -> InputError:
    """The error for an unnamed small ``axis`` that may hold channels."""
    return InputError(path, f"axis {axis} of shape {shape} may hold {what} and the file does "
                            f"not say which: give --channel-axis {axis} (channel_axis={axis}) for "
                            f"channels, or save the file with axes metadata (OME-TIFF or "
                            f"ImageJ)")


def _with_channel(known: str | None, shape: tuple[int, ...], channel_axis: int,
                  path: str | Path | None) -> str:
    """Axes with ``channel_axis`` named C: the metadata's others, else ``(Z,) Y, X``."""
    ndim = len(shape)
    if not -ndim <= channel_axis < ndim:
        raise InputError(path, f"channel axis {channel_axis} does not exist in an image of "
                               f"shape {shape}")
    channel_axis %= ndim
    if known is not None:
        axes = known[:channel_axis] + "C" + known[channel_axis + 1:]
        if known[channel_axis] not in "CS" or axes.count("C") > 1:
            raise InputError(path, f"the file's metadata names its axes {known} (shape {shape}): "
                                   f"axis {channel_axis} is not its channel axis")
        return axes
    if ndim - 1 not in (2, 3):
        raise InputError(path, f"with channel axis {channel_axis}, shape {shape} leaves "
                               f"{ndim - 1} axes; expected (Y, X) or (Z, Y, X)")
    spatial = "ZYX"[3 - (ndim - 1):]
    return spatial[:channel_axis] + "C" + spatial[channel_axis:]
