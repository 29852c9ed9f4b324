"""Geometric building blocks shared by image and labels. Arrays are ``(..., Y, X)`` or
``(..., Z, Y, X)``: leading axes (channels) are carried along, the trailing ``len(shape)`` axes
are spatial. Outside the image, content is mirrored without repeating the edge pixel
(``d c b | a b c d | c b a``: NumPy's ``reflect``, SciPy's ``mirror``)."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from microseg.errors import InputError


def crop_shape(crop: int | list[int] | None, spatial: tuple[int, ...]) -> tuple[int, ...]:
    """Output spatial shape for a crop setting: an int is a square in-plane (whole Z range in
    3D), two sizes are ``(Y, X)``, three are ``(Z, Y, X)``; ``None`` keeps ``spatial``."""
    if crop is None:
        return tuple(spatial)
    sizes = [crop, crop] if isinstance(crop, int) else list(crop)
    if len(sizes) > len(spatial):
        raise InputError(None, f"crop {crop!r} has more axes than the labels {spatial}")
    return tuple(spatial[:len(spatial) - len(sizes)]) + tuple(sizes)


def extract(array: np.ndarray, start: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """``array[..., start : start + shape]`` over the trailing axes; parts of the window outside
    the array (negative ``start`` or past the end) are filled by reflection."""
    lead = array.ndim - len(shape)
    pads, index = [(0, 0)] * lead, [slice(None)] * lead
    for first, size, length in zip(start, shape, array.shape[lead:]):
        before, after = max(0, -first), max(0, first + size - length)
        pads.append((before, after))
        index.append(slice(first + before, first + before + size))
    if any(pad != (0, 0) for pad in pads):
        array = np.pad(array, pads, mode="reflect")
    return array[tuple(index)]


def sampling_grid(start: tuple[float, ...], shape: tuple[int, ...], scale: tuple[float, ...],
                  displacement: np.ndarray | None = None) -> np.ndarray:
    """Input coordinates ``(ndim, *shape)`` of every output pixel: output pixel ``u`` on an axis
    looks at ``start + (u + 0.5) / scale - 0.5`` (pixel centres aligned, ``scale > 1``
    magnifies), plus ``displacement`` ``(2, Y, X)`` on the two in-plane axes when given."""
    axes = [first + (np.arange(size) + 0.5) / factor - 0.5
            for first, size, factor in zip(start, shape, scale)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"))
    if displacement is not None:
        grid[-2:] += displacement[(slice(None),) + (None,) * (len(shape) - 2)]
    return grid


def resample(array: np.ndarray, grid: np.ndarray, order: int) -> np.ndarray:
    """Values of ``array`` (``(*spatial)`` or ``(C, *spatial)``) at ``grid`` with spline
    interpolation of ``order`` (0 = nearest neighbour, which keeps label ids), mirrored outside."""
    if array.ndim == grid.shape[0]:
        return ndi.map_coordinates(array, grid, order=order, mode="mirror", output=array.dtype)
    return np.stack([resample(channel, grid, order) for channel in array])


def reflect_pad(array: np.ndarray, width: int) -> np.ndarray:
    """Add ``width`` pixels of reflection on both sides of the last two (Y, X) axes."""
    if width == 0:
        return array
    pads = [(0, 0)] * (array.ndim - 2) + [(width, width)] * 2
    return np.pad(array, pads, mode="reflect")
