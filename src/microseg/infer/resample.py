"""Resampling of images and maps to another pixel grid (linear interpolation, via torch).

Used to bring an image to the scale a model was trained at and its maps (or labels) back to the
image grid.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def scaled_shape(shape: tuple[int, ...], factors: tuple[float, ...]) -> tuple[int, ...]:
    """``shape`` multiplied by ``factors`` per axis, rounded, at least 1."""
    return tuple(max(1, int(round(n * f))) for n, f in zip(shape, factors))


def resize(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Resample float ``(C, *spatial)`` (2 or 3 spatial axes) to ``(C, *shape)``.

    Linear interpolation with pixel centres aligned (``align_corners=False``); shrinking a 2D
    grid is anti-aliased. When only the last two axes of a 3D grid change (a slice-wise
    rescale), each ``(Y, X)`` slice is resampled on its own.
    """
    array = np.asarray(array, dtype=np.float32)
    spatial = array.shape[1:]
    shape = tuple(int(s) for s in shape)
    if shape == spatial:
        return array
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if len(spatial) == 3 and shape[0] == spatial[0]:
        planes = tensor.permute(1, 0, 2, 3)                     # (Z, C, Y, X): slices as batch
        out = _resize_2d(planes, shape[1:]).permute(1, 0, 2, 3)
    elif len(spatial) == 3:
        out = F.interpolate(tensor[None], size=shape, mode="trilinear", align_corners=False)[0]
    else:
        out = _resize_2d(tensor[None], shape)[0]
    return np.ascontiguousarray(out.numpy(), dtype=np.float32)


def _resize_2d(batch: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    shrink = any(s < n for s, n in zip(shape, batch.shape[2:]))
    return F.interpolate(batch, size=tuple(shape), mode="bilinear", align_corners=False,
                         antialias=shrink)


def resize_labels(labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour resampling of integer labels ``(*spatial)`` to ``shape`` with pixel
    centres aligned (as :func:`resize`): each output pixel takes the label of the input pixel
    its centre falls in. Same dtype; no label is invented."""
    labels = np.asarray(labels)
    shape = tuple(int(s) for s in shape)
    if shape == labels.shape:
        return labels
    index = [np.minimum(((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.intp), n_in - 1)
             for n_in, n_out in zip(labels.shape, shape)]
    return np.ascontiguousarray(labels[np.ix_(*index)])
