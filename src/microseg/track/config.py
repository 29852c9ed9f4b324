"""Tracking parameters: one dataclass, loadable from YAML with :func:`microseg.config.from_dict`."""
from __future__ import annotations

import math
from dataclasses import dataclass

from microseg.errors import ConfigError


@dataclass
class TrackConfig:
    """Parameters of :func:`microseg.track.track`.

    Distances are in pixels, or in the unit of ``spacing`` (the pixel size per axis, ``(y, x)``
    or ``(z, y, x)``, e.g. µm) when it is given.

    Gate: two objects of consecutive frames can be linked only when their centroids lie at most
    ``max_distance`` apart, or when they overlap; ``None`` takes ``distance_factor`` times the
    median equivalent diameter of the objects of the two frames.

    Link cost (each term ≥ 0): ``overlap_weight · (1 − IoU) + distance_weight · min(d / gate,
    1) + size_weight · |ln(s₂ / s₁)| + shape_weight · (|ln(aspect₂ / aspect₁)| + |solidity₂ −
    solidity₁|) + intensity_weight · |m₂ − m₁| / max(m₁, m₂)`` (``m``: mean intensity; the term
    is left out without raw frames; overlapping pairs beyond the gate pay the gate's distance).
    Leaving an object unlinked (a track ending or starting) costs ``no_link_cost``, so a
    candidate link is made only when that lowers the total cost of the frame pair, i.e. never
    when its cost is ``2 · no_link_cost`` or more.

    Divisions (``divisions=True``): see :mod:`microseg.track.divisions`; a division is made only
    when its cost is below ``division_cost``, and undone at the end when a daughter lasts fewer
    than ``min_daughter_frames`` frames (a false split that heals; 1 keeps every division).

    Gap closing (``gap_closing=True``): a track that ends at frame t (not by dividing) may be
    bridged to a track that starts at t + 2 without a mother (one frame missing), with the link
    cost and gate above between the objects of frames t and t + 2; leaving an end or a start
    unbridged costs ``gap_cost``, so a bridge is made only when its cost is below
    ``2 · gap_cost`` (stricter than a link: a bridge guesses a missed detection). In the CTC
    output the piece after the gap is a new track whose parent is the piece before it.
    """

    max_distance: float | None = None
    distance_factor: float = 2.0
    spacing: tuple[float, ...] | None = None
    overlap_weight: float = 1.0
    distance_weight: float = 1.0
    size_weight: float = 0.5
    shape_weight: float = 0.25
    intensity_weight: float = 0.25
    no_link_cost: float = 1.5
    divisions: bool = True
    division_cost: float = 2.0
    min_daughter_frames: int = 2
    gap_closing: bool = False
    gap_cost: float = 0.75

    def __post_init__(self) -> None:
        positive = {"distance_factor": self.distance_factor, "no_link_cost": self.no_link_cost,
                    "division_cost": self.division_cost, "gap_cost": self.gap_cost}
        if self.max_distance is not None:
            positive["max_distance"] = self.max_distance
        for name, value in positive.items():
            if not _finite(value) or value <= 0:
                raise ConfigError(f"track: {name} must be a positive number, got {value!r}")
        for name in ("overlap_weight", "distance_weight", "size_weight", "shape_weight",
                     "intensity_weight"):
            value = getattr(self, name)
            if not _finite(value) or value < 0:
                raise ConfigError(f"track: {name} must be a number ≥ 0, got {value!r}")
        if isinstance(self.min_daughter_frames, bool) or not isinstance(
                self.min_daughter_frames, int) or self.min_daughter_frames < 1:
            raise ConfigError(f"track: min_daughter_frames must be an integer ≥ 1, got "
                              f"{self.min_daughter_frames!r}")
        if self.spacing is not None:
            spacing = tuple(self.spacing)
            if len(spacing) not in (2, 3) or not all(_finite(s) and s > 0 for s in spacing):
                raise ConfigError(f"track: spacing must be 2 or 3 positive numbers (one per "
                                  f"spatial axis), got {self.spacing!r}")
            self.spacing = tuple(float(s) for s in spacing)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
