"""Pixel weights for training computed from the labels, multiplied into the loss's weight map.

:class:`ContactWeight` is a simple form of the U-Net separation weight (Ronneberger et al. 2015):
the pixels where two cells come close (rims of touching cells, narrow gaps) weigh more, so that a
network pays for merging neighbours rather than for a slightly thick boundary elsewhere.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from microseg.errors import ConfigError
from microseg.targets.neighbourhood import between_cells


@dataclasses.dataclass(frozen=True)
class ContactWeight:
    """Weight ``weight`` on the pixels whose ``(2·radius + 1)`` box holds two or more cells
    (:func:`~microseg.targets.neighbourhood.between_cells`), 1 elsewhere.

    Args:
        weight: factor on those pixels (≥ 1; 1 changes nothing).
        radius: half-width of the box, pixels (the 3-class target's ``erosion``, 2, matches its
            contact rims).
        in_plane: for ``(Z, Y, X)`` labels, boxes one slice thick.
    """

    weight: float = 1.0
    radius: int = 2
    in_plane: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.weight, bool) or not isinstance(self.weight, (int, float)) \
                or not self.weight >= 1.0:
            raise ConfigError(f"contact weight must be a number >= 1, got {self.weight!r}")
        if isinstance(self.radius, bool) or not isinstance(self.radius, int) or self.radius < 1:
            raise ConfigError(f"contact radius must be an integer >= 1, got {self.radius!r}")

    @property
    def active(self) -> bool:
        return self.weight != 1.0

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        """float32 weights, shape of ``labels`` ``(*spatial)``."""
        out = np.ones(labels.shape, np.float32)
        if self.active:
            out[between_cells(labels, self.radius, self.in_plane)] = self.weight
        return out
