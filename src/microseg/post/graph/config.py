"""Configuration of the EM graph pipeline (superpixels → region graph → edge costs → solver), as
dataclasses loadable with :func:`microseg.config.from_dict`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from microseg.config import NonNegative, Range, check_fields
from microseg.post.graph.edge_classifier import ForestConfig
from microseg.post.graph.superpixels import SuperpixelConfig


@dataclass
class GraphConfig:
    """Region graph and features.

    ``mode``: ``"2d"`` treats the sections of a ``(Z, Y, X)`` stack as separate images (per-slice
    superpixels, no edges between sections, one segmentation per section); ``"3d"`` links
    superpixels of neighbouring sections so segments continue through the stack. ``sampling``:
    voxel size ``(Z, Y, X)`` (or ``(Y, X)``) for distances. ``boundary_sigma``: in-plane
    smoothing (px) of the second boundary map. ``lifted_distance``: lifted edges join nodes
    ``2..lifted_distance`` steps apart. ``thresholds``: agglomeration levels for lifted features.
    """

    mode: Literal["2d", "3d"] = "2d"
    sampling: list[float] | None = None
    boundary_sigma: float = 1.6
    lifted_distance: Annotated[int, Range(2)] = 3
    thresholds: list[Annotated[float, Range(0, 1, low_open=True, high_open=True)]] = field(
        default_factory=lambda: [0.3, 0.5, 0.7])

    def __post_init__(self) -> None:
        check_fields(self, "graph")


@dataclass
class CostConfig:
    """Probability → cost conversion (:func:`~microseg.post.graph.costs.probabilities_to_costs`)
    for local (``beta``) and lifted (``lifted_beta``) edges; lifted costs are scaled by
    ``lifted_weight``."""

    beta: float = 0.5
    lifted_beta: float = 0.5
    clip: float = 1e-3
    lifted_weight: NonNegative = 1.0

    def __post_init__(self) -> None:
        check_fields(self, "costs")


@dataclass
class EMGraphConfig:
    """Everything :func:`~microseg.post.graph.pipeline.segment_em` and
    :func:`~microseg.post.graph.pipeline.train_edge_classifier` need. ``solver`` and
    ``solver_options`` pick a registered multicut solver (``"gaec"``, ``"kl"``,
    ``"hierarchical"``)."""

    superpixels: SuperpixelConfig = field(default_factory=SuperpixelConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    costs: CostConfig = field(default_factory=CostConfig)
    forest: ForestConfig = field(default_factory=ForestConfig)
    solver: str = "kl"
    solver_options: dict[str, Any] = field(default_factory=dict)
