"""``em``: an electron-microscopy-like stack of cells separated by dark membranes (ISBI 2012 style)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from microseg.config import Range, check_fields
from microseg.data.synthetic.base import Synthetic, check_shape, registered
from microseg.data.synthetic.render import smooth_field, texture, to_uint
from microseg.io.images import as_labels


@dataclass
class EMConfig:
    """Parameters of :func:`em`.

    ``shape``: ``(Y, X)`` for one section or ``(Z, Y, X)`` for a stack of sections. ``diameter``:
    mean cell diameter (px). ``membrane_width``: membrane thickness (px, ≥ 2). ``warp``: how far
    (px) the membranes bend away from straight Voronoi edges. ``drift``: per-section random-walk
    step (px) of the cell centres, so the geometry changes slowly along z. ``organelles``: fraction
    of the cell interior covered by dark organelles. ``blur``: sigma (px). ``noise``: Gaussian noise
    sigma (relative to the full 0–1 range).
    """

    shape: tuple[int, ...] = (8, 256, 256)
    diameter: Annotated[float, Range(8, 1e4)] = 40.0
    membrane_width: Annotated[int, Range(2, 20)] = 3
    warp: Annotated[float, Range(0, 100)] = 6.0
    drift: Annotated[float, Range(0, 100)] = 1.0
    organelles: Annotated[float, Range(0, 0.5)] = 0.04
    blur: Annotated[float, Range(0, 20)] = 1.0
    noise: Annotated[float, Range(0, 1)] = 0.05

    def __post_init__(self) -> None:
        self.shape = check_shape("em", self.shape, (2, 3), minimum=1)
        check_shape("em", self.shape[-2:], (2,), minimum=16)
        check_fields(self, "synthetic em")


@registered("em", EMConfig)
def em(config: EMConfig, rng: np.random.Generator) -> Synthetic:
    """Cells filling the plane like a warped Voronoi diagram, separated by dark membranes about
    ``membrane_width`` px thick, with dark organelles inside, blurred and noisy. Sections of a
    stack share their cells: each cell centre moves a little from one section to the next.

    ``labels``: instance ids (one per cell, the same in every section), 0 on membranes. Within each
    section the interior of a cell is a single 4-connected piece and no two cells are 8-adjacent,
    so the connected components of the interior are exactly the instances; :func:`isbi_labels`
    gives the ISBI-style 255 = interior / 0 = membrane image. ``image`` is uint8, same shape.
    """
    volume = config.shape if len(config.shape) == 3 else (1, *config.shape)
    cells = _cell_labels(rng, volume, config)
    labels = np.zeros(volume, dtype=np.int64)
    for z in range(volume[0]):
        labels[z] = _interiors(cells[z], config.membrane_width)
    interior = labels > 0
    deep = ndimage.binary_erosion(interior, np.ones((1, 3, 3), bool), iterations=2)
    organelle_field = texture(rng, volume, (0.8, 2.0, 2.0))
    organelles = deep & (organelle_field > np.quantile(organelle_field, 1.0 - config.organelles))
    shade = rng.normal(0.0, 0.05, int(cells.max()) + 1)
    image = np.where(interior, 0.7 + shade[labels], 0.2)
    image += 0.04 * texture(rng, volume, (0.5, 1.0, 1.0))
    image[organelles] = 0.3
    image = ndimage.gaussian_filter(image, (0.0, config.blur, config.blur))
    image += rng.normal(0.0, config.noise, volume)
    labels = _consecutive(labels)
    if len(config.shape) == 2:
        image, labels = image[0], labels[0]
    return Synthetic(to_uint(image, np.uint8), as_labels(labels))


def isbi_labels(labels: np.ndarray) -> np.ndarray:
    """ISBI 2012 style membrane labels (uint8): 255 = cell interior, 0 = membrane."""
    return np.where(labels > 0, 255, 0).astype(np.uint8)


def _cell_labels(rng: np.random.Generator, volume: tuple[int, int, int],
                 config: EMConfig) -> np.ndarray:
    """Warped Voronoi regions ``(Z, Y, X)`` (ids from 1) of seeds drifting along z."""
    n_z, height, width = volume
    seeds = _spread_points(rng, (height, width), 0.8 * config.diameter)
    steps = rng.normal(0.0, config.drift, (n_z, *seeds.shape))
    steps[0] = 0.0
    centres = seeds[None] + np.cumsum(steps, axis=0)
    yy, xx = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    warp = [config.warp * 2.0 * (smooth_field(rng, volume, (8.0, 32.0, 32.0)) - 0.5)
            for _ in range(2)]
    cells = np.empty(volume, dtype=np.int64)
    for z in range(n_z):
        points = np.stack([(yy + warp[0][z]).ravel(), (xx + warp[1][z]).ravel()], axis=1)
        _, nearest = cKDTree(centres[z]).query(points)
        cells[z] = nearest.reshape(height, width) + 1
    return cells


def _spread_points(rng: np.random.Generator, shape: tuple[int, int], spacing: float) -> np.ndarray:
    """Random points ``(N, 2)`` in ``shape``, no two closer than ``spacing`` (dart throwing)."""
    n_max = int(np.prod(shape) / (0.5 * spacing ** 2)) + 1
    candidates = rng.uniform(0.0, 1.0, (30 * n_max, 2)) * np.asarray(shape)
    kept = np.empty((n_max, 2))
    count = 0
    for point in candidates:
        if count == n_max:
            break
        if count == 0 or np.min(np.sum((kept[:count] - point) ** 2, axis=1)) >= spacing ** 2:
            kept[count] = point
            count += 1
    return kept[:count]


def _interiors(cells: np.ndarray, width: int) -> np.ndarray:
    """Cut membranes into a region map ``(Y, X)``: a pixel is membrane when a different region lies
    within the ``(width + 1)`` square around it; of each region's interior only the largest
    4-connected piece is kept (the rest becomes membrane)."""
    size = width + 1
    boundary = ndimage.maximum_filter(cells, size) != ndimage.minimum_filter(cells, size)
    interior = np.where(boundary, 0, cells)
    pieces, n = ndimage.label(interior > 0)
    if n == 0:
        return interior
    sizes = np.bincount(pieces.ravel(), minlength=n + 1)
    owner = np.zeros(n + 1, dtype=np.int64)
    owner[pieces.ravel()] = interior.ravel()
    order = np.lexsort((-sizes[1:], owner[1:])) + 1
    first = np.ones(n, dtype=bool)
    first[1:] = owner[order][1:] != owner[order][:-1]
    keep = np.zeros(n + 1, dtype=bool)
    keep[order[first]] = True
    return np.where(keep[pieces], interior, 0)


def _consecutive(labels: np.ndarray) -> np.ndarray:
    """Renumber the ids present to ``1..N`` in increasing order (0 stays 0)."""
    ids, inverse = np.unique(labels, return_inverse=True)
    if ids[0] != 0:
        return inverse.reshape(labels.shape) + 1
    return inverse.reshape(labels.shape)
