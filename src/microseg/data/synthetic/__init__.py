"""Synthetic microscopy images with exact ground truth, for tests and demos.

Every generator is deterministic by seed and registered by name in :data:`GENERATORS`::

    from microseg.data import synthetic
    image, labels = synthetic.generate("nuclei2d", seed=0, shape=(128, 128))
    movie = synthetic.generate("timelapse", seed=1, n_frames=10)      # SyntheticTimelapse
    synthetic.write_synthetic("em", "out/em", n=4, seed=0)

============  ==================================================================================
``nuclei2d``  fluorescent nuclei, touching/overlapping, uneven background; (Y, X) uint16
``cells2d``   irregular whole cells, phase-contrast-like halo; (Y, X) uint16
``nuclei3d``  anisotropic ellipsoid nuclei, intensity falling off in z; (Z, Y, X) uint16
``em``        Voronoi-like cells between dark membranes, organelles; (Z, Y, X) or (Y, X) uint8
``timelapse`` moving, dividing nuclei with SEG/TRA/lineage ground truth; (T, Y, X) uint16
============  ==================================================================================

Parameters are keyword arguments checked against each generator's configuration dataclass
(unknown names or bad values raise :class:`~microseg.errors.ConfigError`).
"""
from typing import Any

from microseg.data.synthetic.base import GENERATORS, Ellipsoid, Synthetic, sample_seed
from microseg.data.synthetic.cells_2d import Cells2DConfig, cells2d
from microseg.data.synthetic.em_stack import EMConfig, em, isbi_labels
from microseg.data.synthetic.nuclei_2d import Nuclei2DConfig, nuclei2d
from microseg.data.synthetic.nuclei_3d import Nuclei3DConfig, nuclei3d
from microseg.data.synthetic.perturb import (perturb_labels, perturb_sequence, touching_pairs,
                                             track_table)
from microseg.data.synthetic.render import Camera
from microseg.data.synthetic.shapes import Placement
from microseg.data.synthetic.time_lapse import SyntheticTimelapse, TimelapseConfig, timelapse
from microseg.data.synthetic.write import write_synthetic


def available() -> list[str]:
    """Names of the registered generators."""
    return GENERATORS.available()


def generate(kind: str, seed: int = 0, **params: Any) -> Any:
    """Run generator ``kind`` with ``seed`` and ``params`` (unknown kind → ConfigError)."""
    return GENERATORS.build(kind, seed=seed, **params)


__all__ = [
    "GENERATORS", "Camera", "Cells2DConfig", "EMConfig", "Ellipsoid", "Nuclei2DConfig",
    "Nuclei3DConfig", "Placement", "Synthetic", "SyntheticTimelapse", "TimelapseConfig",
    "available", "cells2d", "em", "generate", "isbi_labels", "nuclei2d", "nuclei3d",
    "perturb_labels", "perturb_sequence", "sample_seed", "timelapse", "touching_pairs",
    "track_table", "write_synthetic",
]
