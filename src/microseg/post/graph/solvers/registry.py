"""Name → solver registry. Every solver takes validated arrays ``(n_nodes, uv_ids, costs,
lifted_uv_ids, lifted_costs, **options)`` and returns node labels ``(n_nodes,)``; a plain
multicut problem is a lifted one without lifted edges."""
from __future__ import annotations

from typing import Callable

import numpy as np

from microseg.post.graph.solvers.gaec import lifted_gaec
from microseg.post.graph.solvers.kernighan_lin import lifted_kernighan_lin
from microseg.registry import Registry

Solver = Callable[..., np.ndarray]

SOLVERS: Registry[np.ndarray] = Registry("multicut solver")


@SOLVERS.register("gaec")
def solve_gaec(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray, lifted_uv_ids: np.ndarray,
               lifted_costs: np.ndarray) -> np.ndarray:
    """Greedy additive edge contraction (lifted GAEC when there are lifted edges)."""
    return lifted_gaec(n_nodes, uv_ids, costs, lifted_uv_ids, lifted_costs)


@SOLVERS.register("kl")
def solve_kl(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray, lifted_uv_ids: np.ndarray,
             lifted_costs: np.ndarray, max_rounds: int = 100, tries: int = 5) -> np.ndarray:
    """GAEC followed by (lifted) Kernighan–Lin refinement (options: see
    :func:`~microseg.post.graph.solvers.kernighan_lin.lifted_kernighan_lin`)."""
    start = lifted_gaec(n_nodes, uv_ids, costs, lifted_uv_ids, lifted_costs)
    return lifted_kernighan_lin(n_nodes, uv_ids, costs, lifted_uv_ids, lifted_costs, start,
                                max_rounds=max_rounds, tries=tries)
