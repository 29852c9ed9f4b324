"""Drawing objects into a label image: star-convex polygons, ellipsoids and a canvas that paints
them one on top of another while keeping every object visible and in one piece."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable

import numpy as np
from scipy import ndimage
from skimage.draw import polygon as draw_polygon

from microseg.config import Range
from microseg.data.synthetic.base import Ellipsoid

Box = tuple[slice, ...]


@dataclass
class Placement:
    """How objects are sized and placed (shared by the blob-like generators).

    ``diameter``: mean object diameter (px, lateral). ``n_objects``: how many to draw; ``None``
    fills ``coverage`` of the image area. ``cluster``: probability that an object is placed
    touching or overlapping an earlier one. ``min_visible``: an object is discarded (and another
    proposed) when it would hide more than ``1 - min_visible`` of an earlier one or split it.
    ``max_aspect``: largest ratio of long to short axis. ``irregularity``: relative amplitude of
    the wobble of the outline.
    """

    diameter: Annotated[float, Range(4, 1e4)] = 16.0
    n_objects: Annotated[int, Range(0, 1e6)] | None = None
    coverage: Annotated[float, Range(0, 1)] = 0.25
    cluster: Annotated[float, Range(0, 1)] = 0.4
    min_visible: Annotated[float, Range(0.05, 1)] = 0.6
    max_aspect: Annotated[float, Range(1, 10)] = 1.6
    irregularity: Annotated[float, Range(0, 1)] = 0.1


def star_polygon(centre: np.ndarray, radius: float, aspect: float, angle: float,
                 harmonics: np.ndarray, phases: np.ndarray, n_vertices: int = 48) -> np.ndarray:
    """Vertices ``(n_vertices, 2)`` ``(row, col)`` of a star-convex outline around ``centre``.

    The outline is an ellipse of mean radius ``radius`` (px) and axis ratio ``aspect`` rotated by
    ``angle`` (rad), its radius multiplied by ``1 + Σ_k harmonics[k] cos((k + 2) θ + phases[k])``
    (at least 0.5).
    """
    theta = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
    a, b = radius * np.sqrt(aspect), radius / np.sqrt(aspect)
    rel = theta - angle
    r = a * b / np.hypot(b * np.cos(rel), a * np.sin(rel))
    k = np.arange(2, 2 + len(harmonics))[:, None]
    wobble = 1.0 + (harmonics[:, None] * np.cos(k * theta[None] + phases[:, None])).sum(axis=0)
    r = r * np.clip(wobble, 0.5, None)
    return np.stack([centre[0] + r * np.sin(theta), centre[1] + r * np.cos(theta)], axis=1)


def random_outline(rng: np.random.Generator, centre: np.ndarray, diameter: float,
                   placement: Placement, n_harmonics: int = 4) -> np.ndarray:
    """A random star-convex outline (see :func:`star_polygon`) of about ``diameter`` px."""
    radius = 0.5 * diameter * rng.uniform(0.8, 1.2)
    aspect = rng.uniform(1.0, placement.max_aspect)
    harmonics = rng.uniform(0.0, placement.irregularity, n_harmonics) / np.arange(1, n_harmonics + 1)
    phases = rng.uniform(0.0, 2.0 * np.pi, n_harmonics)
    return star_polygon(centre, radius, aspect, rng.uniform(0.0, np.pi), harmonics, phases)


def polygon_mask(vertices: np.ndarray, shape: tuple[int, int]) -> tuple[Box, np.ndarray] | None:
    """Rasterise a polygon (pixel centres inside it) clipped to ``shape`` → ``(box, mask)``, the
    bounding box and the boolean mask inside it, or ``None`` when no pixel is inside."""
    rr, cc = draw_polygon(vertices[:, 0], vertices[:, 1], shape)
    if rr.size == 0:
        return None
    return _from_indices((rr, cc))


def ellipsoid(rng: np.random.Generator, centre: np.ndarray, diameter: float, max_aspect: float,
              anisotropy: float) -> Ellipsoid:
    """A randomly oriented ellipsoid of about ``diameter`` (lateral px) in a volume whose z spacing
    is ``anisotropy`` times the xy spacing, expressed in voxel units."""
    radius = 0.5 * diameter * rng.uniform(0.8, 1.2)
    semi = radius * rng.uniform(max_aspect ** -0.5, max_aspect ** 0.5, 3)
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    rotation = q * np.sign(np.diag(r))
    physical = rotation @ np.diag(1.0 / semi ** 2) @ rotation.T
    scale = np.diag([anisotropy, 1.0, 1.0])
    return Ellipsoid(np.asarray(centre, dtype=float), scale @ physical @ scale)


def ellipsoid_mask(ell: Ellipsoid, shape: tuple[int, int, int]) -> tuple[Box, np.ndarray] | None:
    """Rasterise an ellipsoid (voxel centres inside it) clipped to ``shape`` → ``(box, mask)``."""
    half = np.sqrt(np.diag(np.linalg.inv(ell.matrix)))
    lo = np.maximum(np.floor(ell.centre - half).astype(int), 0)
    hi = np.minimum(np.ceil(ell.centre + half).astype(int) + 1, shape)
    if np.any(hi <= lo):
        return None
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    inside = ellipsoid_form(ell, box) <= 1.0
    if not inside.any():
        return None
    return _from_indices(tuple(idx + s.start for idx, s in zip(np.nonzero(inside), box)))


def ellipsoid_form(ell: Ellipsoid, box: Box) -> np.ndarray:
    """``(p - c)ᵀ A (p - c)`` for every voxel ``p`` of ``box`` (≤ 1 inside the ellipsoid)."""
    grids = np.meshgrid(*(np.arange(s.start, s.stop) - c for s, c in zip(box, ell.centre)),
                        indexing="ij")
    return np.einsum("i...,ij,j...->...", np.stack(grids), ell.matrix, np.stack(grids))


def _from_indices(indices: tuple[np.ndarray, ...]) -> tuple[Box, np.ndarray]:
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in indices)
    mask = np.zeros([s.stop - s.start for s in box], dtype=bool)
    mask[tuple(i - s.start for i, s in zip(indices, box))] = True
    return box, mask


def is_connected(mask: np.ndarray) -> bool:
    """True when the True pixels of ``mask`` form one face-connected piece."""
    return ndimage.label(mask)[1] == 1


class Canvas:
    """A label image painted object by object, later objects on top of earlier ones.

    :meth:`add` refuses an object that would leave an earlier one with less than ``min_visible`` of
    its drawn area or split it in pieces, or that is itself not one piece; accepted objects get ids
    ``1, 2, …`` in order, so the finished labels are consecutive.
    """

    def __init__(self, shape: tuple[int, ...], min_visible: float):
        self.labels = np.zeros(shape, dtype=np.int32)
        self.min_visible = min_visible
        self._boxes: list[Box] = []
        self._areas: list[int] = []

    def __len__(self) -> int:
        return len(self._boxes)

    def add(self, box: Box, mask: np.ndarray) -> int:
        """Paint ``mask`` (boolean, the shape of ``box``) if allowed; return its id, or 0."""
        if not is_connected(mask):
            return 0
        region = self.labels[box]
        for k in np.unique(region[mask]):
            if k and not self._survives(int(k), box, mask):
                return 0
        self._boxes.append(box)
        self._areas.append(int(mask.sum()))
        region[mask] = len(self._boxes)
        return len(self._boxes)

    def _survives(self, k: int, box: Box, mask: np.ndarray) -> bool:
        own = self._boxes[k - 1]
        rest = self.labels[own] == k
        lo = [max(a.start, b.start) for a, b in zip(own, box)]
        hi = [min(a.stop, b.stop) for a, b in zip(own, box)]
        in_own = tuple(slice(l - s.start, h - s.start) for l, h, s in zip(lo, hi, own))
        in_new = tuple(slice(l - s.start, h - s.start) for l, h, s in zip(lo, hi, box))
        rest[in_own] &= ~mask[in_new]
        return rest.sum() >= self.min_visible * self._areas[k - 1] and is_connected(rest)


def target_count(placement: Placement, area: float, object_area: float) -> int:
    """Objects to draw: ``placement.n_objects`` or enough to cover ``coverage`` of ``area``."""
    if placement.n_objects is not None:
        return int(placement.n_objects)
    return max(1, int(round(placement.coverage * area / object_area)))


def next_centre(rng: np.random.Generator, centres: list[np.ndarray], shape: tuple[int, ...],
                distance: float | np.ndarray, placement: Placement) -> np.ndarray:
    """A centre for the next object: uniform in ``shape`` or, with probability ``cluster``, at
    ``distance`` (per axis, px) times ``U(0.6, 1)`` from a random earlier centre, so they touch."""
    if centres and rng.random() < placement.cluster:
        direction = rng.normal(size=len(shape))
        direction /= np.linalg.norm(direction)
        return centres[rng.integers(len(centres))] + direction * distance * rng.uniform(0.6, 1.0)
    return rng.uniform(0.0, 1.0, len(shape)) * (np.asarray(shape) - 1)


Drawn = tuple[Box, np.ndarray]
Proposal = tuple[np.ndarray, Any, Drawn | None]


def fill(canvas: Canvas, n: int, propose: Callable[[list[np.ndarray]], Proposal],
         min_area: float, attempts: int = 20) -> list[Any]:
    """Add objects to ``canvas`` until it holds ``n`` (or ``attempts * n`` proposals were made).

    ``propose(centres)`` gets the centres accepted so far and returns ``(centre, geometry,
    (box, mask) or None)``; objects smaller than ``min_area`` px are skipped. Returns the geometry
    of the accepted objects in drawing order (object ``k`` has label ``k + 1``).
    """
    centres: list[np.ndarray] = []
    accepted: list[Any] = []
    for _ in range(attempts * n):
        if len(canvas) >= n:
            break
        centre, geometry, drawn = propose(centres)
        if drawn is not None and drawn[1].sum() >= min_area and canvas.add(*drawn):
            centres.append(centre)
            accepted.append(geometry)
    return accepted


def draw_outlines(rng: np.random.Generator, shape: tuple[int, int], placement: Placement,
                  n_harmonics: int = 4) -> tuple[np.ndarray, list[np.ndarray]]:
    """Random star-convex objects painted on a canvas → ``(labels (Y, X) int32, polygons)``."""
    object_area = np.pi * (0.5 * placement.diameter) ** 2
    canvas = Canvas(shape, placement.min_visible)

    def propose(centres: list[np.ndarray]) -> Proposal:
        centre = next_centre(rng, centres, shape, placement.diameter, placement)
        vertices = random_outline(rng, centre, placement.diameter, placement, n_harmonics)
        return centre, vertices, polygon_mask(vertices, shape)

    n = target_count(placement, float(np.prod(shape)), object_area)
    polygons = fill(canvas, n, propose, min_area=0.2 * object_area)
    return canvas.labels, polygons
