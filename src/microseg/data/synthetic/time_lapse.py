"""``timelapse``: fluorescent nuclei moving and dividing over time (2D+t) with tracking ground truth."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Literal

import numpy as np
from scipy import ndimage

from microseg.config import Range, check_fields
from microseg.data.synthetic.base import check_shape, registered
from microseg.data.synthetic.render import Camera, fluorescence, texture
from microseg.data.synthetic.shapes import polygon_mask, star_polygon
from microseg.errors import ConfigError
from microseg.io.images import as_labels


@dataclass
class TimelapseConfig(Camera):
    """Parameters of :func:`timelapse` (see :class:`Camera` for the imaging ones).

    ``shape``: ``(Y, X)`` px; ``n_frames``: frames; ``n_cells``: cells in the first frame (fewer
    when they do not fit), at most ``max_cells`` at any time (default ``3 * n_cells``).
    ``diameter``: mean diameter of a grown cell
    (px); ``max_aspect`` and ``irregularity`` shape the outlines. ``speed``: random-walk step sigma
    and ``drift``: common drift speed (px / frame, random direction). ``division``: probability per
    frame that a cell at least ``min_age`` frames old divides; ``growth``: relative radius growth per
    frame. ``markers``: TRA markers, ``"disk"`` (radius ``marker_radius`` px at the centre, inside
    the cell) or ``"mask"`` (the whole cell). ``seg_every``: SEG ground truth on every k-th frame;
    ``sparse``: fraction of the cells left out of each SEG frame (like GOWT1).
    """

    shape: tuple[int, int] = (256, 256)
    n_frames: Annotated[int, Range(1, 9999)] = 20
    n_cells: Annotated[int, Range(1, 10000)] = 12
    max_cells: Annotated[int, Range(1, 60000)] | None = None
    diameter: Annotated[float, Range(8, 1e4)] = 18.0
    max_aspect: Annotated[float, Range(1, 3)] = 1.5
    irregularity: Annotated[float, Range(0, 0.3)] = 0.08
    speed: Annotated[float, Range(0, 100)] = 1.5
    drift: Annotated[float, Range(0, 100)] = 0.5
    division: Annotated[float, Range(0, 1)] = 0.08
    min_age: Annotated[int, Range(1, 10000)] = 4
    growth: Annotated[float, Range(0, 0.5)] = 0.03
    markers: Literal["disk", "mask"] = "disk"
    marker_radius: Annotated[int, Range(0, 100)] = 2
    seg_every: Annotated[int, Range(1, 10000)] = 1
    sparse: Annotated[float, Range(0, 0.9)] = 0.0
    texture: Annotated[float, Range(0, 1)] = 0.15

    def __post_init__(self) -> None:
        self.shape = check_shape("timelapse", self.shape, (2,), minimum=16)
        if self.max_cells is None:
            self.max_cells = 3 * self.n_cells
        check_fields(self, "synthetic timelapse")
        if self.max_cells < self.n_cells:
            raise ConfigError(f"synthetic timelapse.max_cells: must be >= n_cells "
                              f"({self.n_cells}), got {self.max_cells}")
        if self.diameter > min(self.shape) / 2:
            raise ConfigError(f"synthetic timelapse.diameter: must be <= half the image size "
                              f"({min(self.shape) / 2:g}), got {self.diameter}")


@dataclass(frozen=True, eq=False)
class SyntheticTimelapse:
    """A 2D+t sequence with exact segmentation and tracking ground truth.

    ``images``: ``(T, Y, X)`` uint16. ``labels``: ``(T, Y, X)`` uint16, every cell of every frame,
    id = track id. ``markers``: ``(T, Y, X)`` uint16 TRA markers (same ids). ``seg``: SEG ground
    truth ``{t: (Y, X)}`` on the annotated frames (sparse when configured). ``tracks``: ``(N, 4)``
    int64 rows ``L B E P``: track id, first and last frame, parent track (0 = none); a dividing
    cell's track ends the frame before its two daughters begin.
    """

    images: np.ndarray
    labels: np.ndarray
    markers: np.ndarray
    seg: dict[int, np.ndarray]
    tracks: np.ndarray


@dataclass(frozen=True, eq=False)
class _Cell:
    """One cell's state: outline parameters (see :func:`star_polygon`), age and brightness."""

    id: int
    centre: np.ndarray
    radius: float
    aspect: float
    angle: float
    harmonics: np.ndarray
    phases: np.ndarray
    brightness: float
    age: int = 0

    def outline(self) -> np.ndarray:
        return star_polygon(self.centre, self.radius, self.aspect, self.angle, self.harmonics,
                            self.phases)

    @cached_property
    def reach(self) -> float:
        """Largest distance (px) of the outline from the centre."""
        return float(np.max(np.hypot(*(self.outline() - self.centre).T)))


@registered("timelapse", TimelapseConfig)
def timelapse(config: TimelapseConfig, rng: np.random.Generator) -> SyntheticTimelapse:
    """Fluorescent nuclei that move (random walk plus a common drift), grow and divide (a mother's
    track ends and two daughters with new ids and ``parent`` = mother begin in the next frame).

    Cells never come so close that one could hide another's centre pixel and centres stay in the
    image, so every track is present in every frame from its begin to its end; where outlines
    overlap the higher id covers the lower, and each cell keeps only the piece holding its centre.
    Returns :class:`SyntheticTimelapse`.
    """
    sim = _Simulation(config, rng)
    frames = [list(sim.cells)]
    for _ in range(1, config.n_frames):
        sim.step()
        frames.append(list(sim.cells))
    labels = np.stack([_paint(cells, config.shape) for cells in frames])
    markers = np.stack([_markers(cells, frame, config) for cells, frame in zip(frames, labels)])
    brightness = np.zeros(sim.next_id)
    for cells in frames:
        for cell in cells:
            brightness[cell.id] = cell.brightness
    signal = brightness[labels] * (1.0 + config.texture * texture(rng, labels.shape, (0, 1.5, 1.5)))
    images = fluorescence(signal, rng, config, (0.0, config.blur, config.blur),
                          (config.n_frames, config.shape[0] / 2, config.shape[1] / 2))
    seg = {t: _sparse(labels[t], rng, config.sparse)
           for t in range(0, config.n_frames, config.seg_every)}
    tracks = np.array([[k, *v] for k, v in sorted(sim.tracks.items())], dtype=np.int64)
    return SyntheticTimelapse(images, as_labels(labels), as_labels(markers), seg, tracks)


class _Simulation:
    """Cells moving, growing and dividing frame by frame; ``tracks[id] = [begin, end, parent]``."""

    def __init__(self, config: TimelapseConfig, rng: np.random.Generator):
        self.config, self.rng = config, rng
        self.t = 0
        self.next_id = 1
        self.tracks: dict[int, list[int]] = {}
        self.cells: list[_Cell] = []
        angle = rng.uniform(0.0, 2.0 * np.pi)
        self.drift = config.drift * np.array([np.sin(angle), np.cos(angle)])
        for _ in range(100 * config.n_cells):
            if len(self.cells) == config.n_cells:
                break
            centre = rng.uniform(0.0, 1.0, 2) * (np.asarray(config.shape) - 1)
            cell = self._new_cell(self.next_id, centre,
                                  0.5 * config.diameter * rng.uniform(0.7, 1.0),
                                  rng.uniform(0.5, 1.0))
            if self._fits(cell, self.cells):
                self._start(cell, parent=0)

    def _new_cell(self, cell_id: int, centre: np.ndarray, radius: float,
                  brightness: float) -> _Cell:
        rng, n = self.rng, 3
        harmonics = rng.uniform(0.0, self.config.irregularity, n) / np.arange(1, n + 1)
        return _Cell(cell_id, centre, radius, rng.uniform(1.0, self.config.max_aspect),
                     rng.uniform(0.0, np.pi), harmonics, rng.uniform(0.0, 2.0 * np.pi, n),
                     brightness)

    def _start(self, cell: _Cell, parent: int) -> None:
        self.cells.append(cell)
        self.tracks[cell.id] = [self.t, self.t, parent]
        self.next_id += 1

    def _fits(self, cell: _Cell, others: list[_Cell]) -> bool:
        """Centre inside the image, and far enough from every other cell that neither outline
        reaches the other's centre pixel."""
        if np.any(cell.centre < 0) or np.any(cell.centre > np.asarray(self.config.shape) - 1):
            return False
        reach = cell.reach
        for other in others:
            if other.id == cell.id:
                continue
            other_reach = other.reach
            distance = float(np.hypot(*(cell.centre - other.centre)))
            if distance < max(0.8 * (reach + other_reach), max(reach, other_reach) + 1.0):
                return False
        return True

    def step(self) -> None:
        """Advance one frame: divisions first, then every cell tries to move and grow."""
        config, rng = self.config, self.rng
        self.t += 1
        for mother in [self.cells[i] for i in rng.permutation(len(self.cells))]:
            if (mother.age >= config.min_age and len(self.cells) < config.max_cells
                    and rng.random() < config.division):
                self._divide(mother)
        full = 0.5 * config.diameter * 1.2
        for index in rng.permutation(len(self.cells)):
            cell = self.cells[index]
            if self.tracks[cell.id][0] == self.t:
                continue
            moved = dataclasses.replace(
                cell, centre=cell.centre + self.drift + rng.normal(0.0, config.speed, 2),
                angle=cell.angle + rng.normal(0.0, 0.05),
                radius=min(cell.radius * (1.0 + config.growth), max(full, cell.radius)),
                age=cell.age + 1)
            self.cells[index] = moved if self._fits(moved, self.cells) else dataclasses.replace(
                cell, age=cell.age + 1)
        for cell in self.cells:
            self.tracks[cell.id][1] = self.t

    def _divide(self, mother: _Cell) -> None:
        """Replace ``mother`` by two daughters along its long axis, if they fit."""
        rng = self.rng
        others = [c for c in self.cells if c.id != mother.id]
        daughters = [self._new_cell(cell_id, mother.centre, mother.radius / np.sqrt(2.0),
                                    float(np.clip(mother.brightness * rng.uniform(0.9, 1.1),
                                                  0.3, 1.0)))
                     for cell_id in (self.next_id, self.next_id + 1)]
        reach = [d.reach for d in daughters]
        half_gap = 0.5 * max(0.8 * sum(reach), max(reach) + 1.0) + 0.5
        axis = np.array([np.sin(mother.angle), np.cos(mother.angle)])
        daughters = [dataclasses.replace(d, centre=mother.centre + sign * half_gap * axis)
                     for d, sign in zip(daughters, (1.0, -1.0))]
        if all(self._fits(d, others) for d in daughters):
            self.cells = others
            for daughter in daughters:
                self._start(daughter, parent=mother.id)


def _paint(cells: list[_Cell], shape: tuple[int, int]) -> np.ndarray:
    """Labels ``(Y, X)`` of one frame: outlines painted by increasing id, then each cell reduced to
    the 4-connected piece that holds its centre pixel."""
    labels = np.zeros(shape, dtype=np.int64)
    boxes = {}
    for cell in sorted(cells, key=lambda c: c.id):
        drawn = polygon_mask(cell.outline(), shape)
        if drawn is not None:
            boxes[cell.id], mask = drawn
            labels[boxes[cell.id]][mask] = cell.id
    for cell in cells:
        box = boxes[cell.id]
        region = labels[box]
        own = region == cell.id
        pieces, n = ndimage.label(own)
        if n > 1:
            centre = tuple(int(round(c)) - s.start for c, s in zip(cell.centre, box))
            region[own & (pieces != pieces[centre])] = 0
    return labels


def _markers(cells: list[_Cell], labels: np.ndarray, config: TimelapseConfig) -> np.ndarray:
    """TRA markers of one frame: the whole cell, or a disk at its centre clipped to the cell."""
    if config.markers == "mask":
        return labels.copy()
    markers = np.zeros_like(labels)
    r = config.marker_radius
    for cell in cells:
        cy, cx = (int(round(c)) for c in cell.centre)
        box = (slice(max(cy - r, 0), min(cy + r + 1, labels.shape[0])),
               slice(max(cx - r, 0), min(cx + r + 1, labels.shape[1])))
        yy, xx = np.ogrid[box]
        disk = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) & (labels[box] == cell.id)
        markers[box][disk] = cell.id
    return markers


def _sparse(labels: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """A copy of ``labels`` with ``floor(fraction * N)`` randomly chosen objects removed."""
    ids = np.unique(labels)
    ids = ids[ids > 0]
    drop = rng.permutation(ids)[:int(fraction * len(ids))]
    return np.where(np.isin(labels, drop), 0, labels)
