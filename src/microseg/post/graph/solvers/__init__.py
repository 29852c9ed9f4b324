"""Multicut and lifted multicut solvers: GAEC, Kernighan–Lin, blockwise; objectives."""
from microseg.post.graph.solvers.api import available_solvers, lifted_multicut, multicut
from microseg.post.graph.solvers.objective import lifted_multicut_objective, multicut_objective
from microseg.post.graph.solvers.registry import SOLVERS

__all__ = ["SOLVERS", "available_solvers", "lifted_multicut", "lifted_multicut_objective",
           "multicut", "multicut_objective"]
