"""Greedy additive edge contraction (Keuper et al. 2015) for multicut and lifted multicut.

Starting from singletons, repeatedly join the two clusters connected by the local edge with the
largest positive total cost, adding up the costs of parallel edges (local and lifted), until no
local edge with positive cost is left. Lifted edges take part in the sums but are never contracted
themselves, so clusters stay connected in the local graph.
"""
from __future__ import annotations

import numpy as np

from microseg.post.graph.solvers.contraction import contract_edges, merge_labels


def gaec(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Multicut by GAEC on validated inputs; node labels ``(n_nodes,)`` int64."""
    return lifted_gaec(n_nodes, uv_ids, costs, np.empty((0, 2), np.int64), np.empty(0))


def lifted_gaec(n_nodes: int, uv_ids: np.ndarray, costs: np.ndarray,
                lifted_uv_ids: np.ndarray, lifted_costs: np.ndarray) -> np.ndarray:
    """Lifted multicut by lifted GAEC on validated inputs; node labels ``(n_nodes,)`` int64."""
    uv = np.concatenate([uv_ids, lifted_uv_ids]).astype(np.int64)
    values = np.concatenate([costs, lifted_costs]).astype(np.float64)
    local = np.zeros(len(uv), bool)
    local[:len(uv_ids)] = True
    merges = contract_edges(n_nodes, uv, values, np.ones(len(uv)), local, mean_mode=False,
                            stop=0.0)
    return merge_labels(n_nodes, merges.keep, merges.gone)
