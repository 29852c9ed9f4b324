"""Perimeter of every object of a 2D label image, by scikit-image's definition.

``skimage.measure.regionprops(...).perimeter`` (``skimage.measure.perimeter`` with 4-connectivity
on each object's mask) weighs the object's border pixels — pixels with a 4-neighbour outside the
object, the image edge counting as outside — by the pattern of border pixels of the same object
around them: code ``1 + 2·(4-neighbours) + 10·(diagonal neighbours)``, weight 1 for straight
runs, √2 for diagonal steps and (1 + √2)/2 for corners (Benkrid & Crookes). One numba pass over
the whole image computes every pixel's weight; the per-object sums are reductions over the runs
(:class:`~microseg.measure.runs.LabelRuns`), so no object is cropped or looped over in Python.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from microseg.measure.runs import LabelRuns

#: Weight of a border pixel by its neighbourhood code (scikit-image's table).
_WEIGHTS = np.zeros(50)
_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1.0
_WEIGHTS[[21, 33]] = math.sqrt(2)
_WEIGHTS[[13, 23]] = (1 + math.sqrt(2)) / 2


def perimeter(labels: np.ndarray, runs: LabelRuns) -> np.ndarray:
    """Perimeter in pixels of every object of ``runs`` (the runs of ``labels`` ``(Y, X)``),
    ``(n,)`` float64, equal to scikit-image's ``regionprops`` ``perimeter``."""
    if runs.n_objects == 0:
        return np.zeros(0)
    weights = _border_weights(np.ascontiguousarray(labels), _WEIGHTS).reshape(-1)
    per_stretch = np.add.reduceat(weights, runs.segment_starts)[runs.segment]
    return runs.reduce(np.add, per_stretch)


@numba.njit(cache=True)
def _border_weights(labels, table):
    """Per-pixel perimeter weight ``(Y, X)`` float64: 0 off the border of any object."""
    height, width = labels.shape
    border = np.zeros((height, width), np.bool_)
    for y in range(height):
        for x in range(width):
            value = labels[y, x]
            if value != 0 and (y == 0 or x == 0 or y == height - 1 or x == width - 1
                               or labels[y - 1, x] != value or labels[y + 1, x] != value
                               or labels[y, x - 1] != value or labels[y, x + 1] != value):
                border[y, x] = True
    weights = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            if not border[y, x]:
                continue
            value = labels[y, x]
            code = 1
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    yy, xx = y + dy, x + dx
                    if (dy == 0 and dx == 0) or yy < 0 or xx < 0 or yy >= height \
                            or xx >= width:
                        continue
                    if border[yy, xx] and labels[yy, xx] == value:
                        code += 2 if dy == 0 or dx == 0 else 10
            weights[y, x] = table[code]
    return weights
