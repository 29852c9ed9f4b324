"""Object outlines as polygons along pixel edges, for GeoJSON and ImageJ ROI files.

Coordinates are those of QuPath and ImageJ: ``(x, y)`` with pixel ``(row r, column c)`` covering
the square ``[c, c + 1] × [r, r + 1]``, so every vertex is a pixel corner and a polygon's area is
exactly its object's pixel count. Every outline is traced with the object on its right as seen
on screen (Y down), which makes exteriors counter-clockwise and holes clockwise in the numbers
(positive and negative shoelace area), as GeoJSON's right-hand rule asks.

One numba pass finds every ring of every object: it starts at each top edge not yet traced and
follows the boundary, turning right first, around the pixel behind it, so an object's parts are
its 4-connected components (pixels that touch only at a corner belong to different parts, and
the background is 8-connected). A ring that passes a corner twice (two parts touching
diagonally, or a hole touching the exterior at a corner) is cut there into simple rings, each an
exterior or a hole by its orientation, so every polygon is valid (OGC simple features: a
connected interior; rings touch at points only). Holes are given to the smallest exterior of
their object that contains them.
"""
from __future__ import annotations

import numba
import numpy as np

#: Ring = ``(k, 2)`` int64 ``(x, y)`` corners, not closed; Polygon = ``[exterior, *holes]``.
Ring = np.ndarray
Polygon = list[Ring]

_DX = np.array([1, 0, -1, 0])   # headings: east, south, west, north (Y down)
_DY = np.array([0, 1, 0, -1])


def label_outlines(labels: np.ndarray) -> dict[int, list[Polygon]]:
    """The outline of every object of a 2D label image ``(Y, X)`` (0 = background): label →
    polygons (one per 4-connected part), each ``[exterior, *holes]``.
    Objects touching the image border are closed along it.

    >>> outlines = label_outlines(np.array([[0, 1, 1], [0, 1, 0]]))
    >>> outlines[1][0][0].tolist()     # one part, no hole: its exterior
    [[1, 0], [3, 0], [3, 1], [2, 1], [2, 2], [1, 2]]
    """
    labels = np.ascontiguousarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"outlines need a 2D label image, got shape {labels.shape}")
    ring_labels, offsets, corners, repeated = _trace(labels, _DX, _DY)
    rings = np.split(corners, offsets[1:-1])
    areas = _ring_areas(corners, offsets).tolist()
    owners = ring_labels.tolist()
    for k in np.flatnonzero(repeated).tolist():
        pieces = _simple_rings(rings[k])
        if len(pieces) > 1:
            rings[k] = pieces[0]
            areas[k] = ring_area(pieces[0])
            rings += pieces[1:]
            areas += [ring_area(piece) for piece in pieces[1:]]
            owners += [owners[k]] * (len(pieces) - 1)
    grouped: dict[int, list[int]] = {}
    for k, label in enumerate(owners):
        grouped.setdefault(label, []).append(k)
    return {label: _polygons([rings[k] for k in found], [areas[k] for k in found])
            for label, found in sorted(grouped.items())}


def ring_area(ring: Ring) -> float:
    """Signed shoelace area of a ring (positive for exteriors, negative for holes)."""
    x, y = ring[:, 0].tolist(), ring[:, 1].tolist()
    twice = sum(x[i - 1] * y[i] - x[i] * y[i - 1] for i in range(len(x)))
    return 0.5 * twice


def _ring_areas(corners: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Signed shoelace areas of the rings ``corners[offsets[k]:offsets[k + 1]]`` ``(r,)``."""
    if offsets.size < 2:
        return np.zeros(0)
    following = np.arange(1, corners.shape[0] + 1)
    following[offsets[1:] - 1] = offsets[:-1]         # each ring's last corner → its first
    x, y = corners[:, 0], corners[:, 1]
    cross = x * y[following] - x[following] * y
    return 0.5 * np.add.reduceat(cross, offsets[:-1]).astype(np.float64)


def _polygons(rings: list[Ring], areas: list[float]) -> list[Polygon]:
    """Exteriors with their holes: each hole goes to the smallest exterior holding it."""
    exteriors = [k for k, area in enumerate(areas) if area > 0]
    polygons: list[Polygon] = [[rings[k]] for k in exteriors]
    holes = [k for k, area in enumerate(areas) if area <= 0]
    if len(exteriors) == 1:
        polygons[0] += [rings[k] for k in holes]
        return polygons
    boxes = [(rings[e].min(axis=0), rings[e].max(axis=0)) for e in exteriors]
    for k in holes:
        inside = np.array(_inside_point(rings[k]))
        holders = [i for i, e in enumerate(exteriors)
                   if np.all((boxes[i][0] < inside) & (inside < boxes[i][1]))
                   and _contains(rings[e], inside)]
        polygons[min(holders, key=lambda i: areas[exteriors[i]])].append(rings[k])
    return polygons


def _inside_point(hole: Ring) -> tuple[float, float]:
    """The centre of the pixel inside ``hole`` along its first edge: on screen (Y down) the
    object lies right of a ring's edges, so the hole's pixels lie left, at ``(dy, −dx)``."""
    (x0, y0), (x1, y1) = hole[0], hole[1]
    dx, dy = np.sign(x1 - x0), np.sign(y1 - y0)
    return x0 + 0.5 * dx + 0.5 * dy, y0 + 0.5 * dy - 0.5 * dx


def _contains(ring: Ring, point: np.ndarray) -> bool:
    """Whether ``point`` (never on a pixel edge) lies inside ``ring`` (even-odd rule)."""
    px, py = point
    x, y = ring[:, 0], ring[:, 1]
    y1 = np.append(y[1:], y[0])
    vertical = (y != y1) & ((y > py) != (y1 > py))
    return bool(np.count_nonzero(vertical & (x > px)) % 2)


def _simple_rings(ring: Ring) -> list[Ring]:
    """``ring`` cut at every corner it passes twice into rings that pass each corner once."""
    pending, done = [ring], []
    while pending:
        current = pending.pop()
        seen: dict[tuple[int, int], int] = {}
        for i, corner in enumerate(map(tuple, current.tolist())):
            if corner in seen:
                first = seen[corner]
                pending += [current[first:i], np.concatenate([current[:first], current[i:]])]
                break
            seen[corner] = i
        else:
            done.append(current)
    return done


@numba.njit(cache=True)
def _trace(labels, dx, dy):
    """Every ring of every object → ``(labels (r,), offsets (r + 1,), corners (m, 2),
    repeated (r,))``; ``repeated`` marks rings that pass a corner twice."""
    height, width = labels.shape
    tops = 0
    for y in range(height):
        for x in range(width):
            if labels[y, x] != 0 and (y == 0 or labels[y - 1, x] != labels[y, x]):
                tops += 1
    todo = np.zeros((height, width), np.bool_)     # top edges not traced yet
    for y in range(height):
        for x in range(width):
            todo[y, x] = labels[y, x] != 0 and (y == 0 or labels[y - 1, x] != labels[y, x])
    corners = np.empty((4 * tops, 2), np.int64)    # corners ≤ 2 × horizontal edges
    ring_labels = np.empty(tops, labels.dtype)
    offsets = np.zeros(tops + 1, np.int64)
    repeated = np.zeros(tops, np.bool_)
    n_rings = 0
    n = 0
    for r in range(height):
        for c in range(width):
            if not todo[r, c]:
                continue
            value = labels[r, c]
            ring_labels[n_rings] = value
            corners[n, 0] = c
            corners[n, 1] = r
            n += 1
            todo[r, c] = False
            x, y, heading = c + 1, r, 0
            while True:
                # the pixels ahead-left and ahead-right of the heading at corner (x, y)
                if heading == 0:
                    ly, lx, ry, rx = y - 1, x, y, x
                elif heading == 1:
                    ly, lx, ry, rx = y, x, y, x - 1
                elif heading == 2:
                    ly, lx, ry, rx = y, x - 1, y - 1, x - 1
                else:
                    ly, lx, ry, rx = y - 1, x - 1, y - 1, x
                left = 0 <= ly < height and 0 <= lx < width and labels[ly, lx] == value
                right = 0 <= ry < height and 0 <= rx < width and labels[ry, rx] == value
                if not right:
                    turn = (heading + 1) % 4
                    if left:
                        repeated[n_rings] = True       # object pixels touch at this corner
                elif left:
                    turn = (heading + 3) % 4
                else:
                    turn = heading
                if x == c and y == r and turn == 0:
                    break
                if turn != heading:
                    corners[n, 0] = x
                    corners[n, 1] = y
                    n += 1
                if turn == 0:
                    todo[y, x] = False
                heading = turn
                x += dx[heading]
                y += dy[heading]
            n_rings += 1
            offsets[n_rings] = n
    return ring_labels[:n_rings], offsets[:n_rings + 1], corners[:n], repeated[:n_rings]
