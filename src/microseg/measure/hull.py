"""Convex area / volume of every object: the number of pixels whose centres lie in the convex hull.

The definition is scikit-image's (``regionprops(...).area_convex``, ``convex_hull_image``): each
pixel is the diamond spanned by the midpoints of its edges (centre ± 0.5 along each axis), the
hull is taken over the diamonds of all the object's pixels, and every pixel whose centre lies
inside the hull or on its boundary is counted. Only the first and last pixel of every image line
of an object can be hull vertices (the diamonds of pixels between them lie in the hull of theirs),
so the hull is built from the diamonds of two pixels per line.

2D (numba): in doubled coordinates every candidate vertex is an integer, so the left and right
boundaries of the hull (monotone chains over the rows in order — no sort) and the count of centres
between them on each row are exact integer arithmetic — no tolerance. 3D: one
``scipy.spatial.ConvexHull`` per object (a Python loop over objects; volumes hold far fewer
objects than slides), then the centres on each X line are counted between the bounds
the hull's facet inequalities put on ``x`` (numba), with scikit-image's tolerance of 1e-10.
"""
from __future__ import annotations

import numba
import numpy as np

from microseg.measure.runs import LabelRuns

#: Facet inequality slack of scikit-image's ``convex_hull_image`` (3D).
TOLERANCE = 1e-10

#: Diamond tips of a voxel: −x, then ±z and ±y, then +x. The first / last voxel of a line needs
#: all but the +x / −x tip (that one lies between the two ends of the line).
_TIPS_3D = np.array([[0, 0, -0.5], [-0.5, 0, 0], [0.5, 0, 0], [0, -0.5, 0], [0, 0.5, 0],
                     [0, 0, 0.5]])


def convex_count(runs: LabelRuns) -> np.ndarray:
    """Pixels (2D) or voxels (3D) in the convex hull of every object, ``(n,)`` int64."""
    if runs.n_objects == 0:
        return np.zeros(0, np.int64)
    line, first, last, offsets = line_extents(runs)
    if len(runs.shape) == 2:
        return _convex_count_2d(line, first, last, offsets)
    if len(runs.shape) == 3:
        return _convex_count_3d(line, first, last, offsets, runs.shape[1])
    raise ValueError(f"convex hulls need a 2D or 3D label image, got shape {runs.shape}")


def line_extents(runs: LabelRuns) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per object and image line: the line index, the first and last pixel on it (``(g,)`` each),
    and ``offsets`` ``(n + 1,)`` so that object ``k`` owns lines ``offsets[k]:offsets[k + 1]``."""
    new_line = np.ones(runs.line.size, bool)
    new_line[1:] = runs.line[1:] != runs.line[:-1]
    new_line[runs.offsets[:-1]] = True
    starts = np.flatnonzero(new_line)
    ends = np.append(starts[1:], runs.line.size) - 1
    offsets = np.searchsorted(starts, runs.offsets)
    return runs.line[starts], runs.x0[starts], runs.x1[ends], offsets


@numba.njit(cache=True)
def _convex_count_2d(row, first, last, offsets):
    """Exact 2D convex pixel counts from each object's rows and their first / last pixels."""
    n = offsets.size - 1
    most = 0
    for k in range(n):
        most = max(most, offsets[k + 1] - offsets[k])
    left_y = np.empty(3 * most, np.int64)
    left_x = np.empty(3 * most, np.int64)
    right_y = np.empty(3 * most, np.int64)
    right_x = np.empty(3 * most, np.int64)
    counts = np.zeros(n, np.int64)
    for k in range(n):
        a, b = offsets[k], offsets[k + 1]
        n_left = _boundary(row, first, a, b, -1, left_y, left_x)
        n_right = _boundary(row, last, a, b, 1, right_y, right_x)
        counts[k] = _count_between(left_y, left_x, n_left, right_y, right_x, n_right,
                                   row[a], row[b - 1])
    return counts


@numba.njit(cache=True)
def _boundary(row, edge, a, b, side, out_y, out_x):
    """Left (``side = -1``, ``edge`` = first pixel of each row) or right (``side = 1``, last
    pixel) boundary of the hull of the rows ``a:b``: Andrew's monotone chain over the diamond tips
    of the edge pixels, in doubled coordinates. Writes the chain to ``out_y`` / ``out_x`` and
    returns its length. Tips are fed in increasing y; two tips sharing a y (consecutive rows)
    may come in either x order, since the outer one of them is popped by the next tip."""
    size = 0
    for g in range(a, b):
        y, x = 2 * row[g], 2 * edge[g]
        for dy, dx in ((-1, 0), (0, side), (1, 0)):
            py, px = y + dy, x + dx
            while size >= 2:
                oy, ox = out_y[size - 2], out_x[size - 2]
                cross = ((out_y[size - 1] - oy) * (px - ox)
                         - (out_x[size - 1] - ox) * (py - oy))
                if cross * side >= 0:
                    size -= 1
                else:
                    break
            out_y[size] = py
            out_x[size] = px
            size += 1
    return size


@numba.njit(cache=True)
def _count_between(left_y, left_x, n_left, right_y, right_x, n_right, y_first, y_last):
    """Pixel centres ``(y, x)`` (doubled: ``(2y, 2x)``) between the left and right chains on rows
    ``y_first..y_last``, boundary included."""
    total = 0
    i = 0
    j = 0
    for y in range(2 * y_first, 2 * y_last + 1, 2):
        while i + 2 < n_left and left_y[i + 1] < y:
            i += 1
        while j + 2 < n_right and right_y[j + 1] < y:
            j += 1
        span = left_y[i + 1] - left_y[i]
        numerator = left_x[i] * span + (left_x[i + 1] - left_x[i]) * (y - left_y[i])
        x_min = -((-numerator) // (2 * span))  # ceil: first centre right of the left boundary
        span = right_y[j + 1] - right_y[j]
        numerator = right_x[j] * span + (right_x[j + 1] - right_x[j]) * (y - right_y[j])
        x_max = numerator // (2 * span)  # floor: last centre left of the right boundary
        if x_max >= x_min:
            total += x_max - x_min + 1
    return total


def _convex_count_3d(line: np.ndarray, first: np.ndarray, last: np.ndarray,
                     offsets: np.ndarray, height: int) -> np.ndarray:
    from scipy.spatial import ConvexHull

    z, y = np.divmod(line, height)
    start, stop = np.stack([z, y, first], axis=1), np.stack([z, y, last], axis=1)
    lower = np.minimum.reduceat(start, offsets[:-1], axis=0)  # bounding box of every object
    extent = np.maximum.reduceat(stop, offsets[:-1], axis=0) - lower + 1
    # Outward diamond tips of the first and last voxel of every line, in object coordinates.
    owner = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    start_tips = (start - lower[owner])[:, None, :] + _TIPS_3D[:-1]
    stop_tips = (stop - lower[owner])[:, None, :] + _TIPS_3D[1:]
    counts = np.zeros(offsets.size - 1, np.int64)
    for k in range(counts.size):
        lines = slice(offsets[k], offsets[k + 1])
        tips = np.concatenate([start_tips[lines], stop_tips[lines]]).reshape(-1, 3)
        counts[k] = _count_in_halfspaces(ConvexHull(tips).equations, *extent[k], TOLERANCE)
    return counts


@numba.njit(cache=True)
def _count_in_halfspaces(equations, nz, ny, nx, tolerance):
    """Lattice points ``(z, y, x)`` in ``[0, nz) × [0, ny) × [0, nx)`` with
    ``n · p + d < tolerance`` for every facet row ``(n_z, n_y, n_x, d)`` of ``equations``."""
    total = 0
    for z in range(nz):
        for y in range(ny):
            lo = 0.0
            hi = nx - 1.0
            inside = True
            for f in range(equations.shape[0]):
                a = equations[f, 2]
                rest = equations[f, 0] * z + equations[f, 1] * y + equations[f, 3]
                if a > 0:
                    hi = min(hi, np.ceil((tolerance - rest) / a) - 1)
                elif a < 0:
                    lo = max(lo, np.floor((tolerance - rest) / a) + 1)
                elif rest >= tolerance:
                    inside = False
                    break
            if inside and hi >= lo:
                total += int(hi - lo) + 1
    return total
