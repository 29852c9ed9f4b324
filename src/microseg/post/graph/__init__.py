"""Graph-based instance segmentation of EM images: superpixels, region adjacency graph, edge
features, random-forest edge costs, multicut and lifted multicut.

    from microseg.post.graph import multicut, lifted_multicut
    labels = multicut(n_nodes, uv_ids, costs, solver="kl")       # positive cost = attractive

    classifier = train_edge_classifier(boundary_maps, raws, gt_labels)
    segmentation = segment_em(boundary, raw, classifier, method="lifted_multicut")
"""
from microseg.post.graph.config import CostConfig, EMGraphConfig, GraphConfig
from microseg.post.graph.costs import probabilities_to_costs
from microseg.post.graph.edge_classifier import EdgeClassifier, ForestConfig
from microseg.post.graph.features import FEATURES_VERSION, LOCAL_FEATURES, local_edge_features, \
    region_table
from microseg.post.graph.lifted import lifted_edge_features, lifted_edges, lifted_feature_names
from microseg.post.graph.pipeline import segment_em, train_edge_classifier
from microseg.post.graph.rag import RegionGraph, region_adjacency_graph
from microseg.post.graph.solvers import available_solvers, lifted_multicut, \
    lifted_multicut_objective, multicut, multicut_objective
from microseg.post.graph.superpixels import SuperpixelConfig, watershed_superpixels

__all__ = [
    "FEATURES_VERSION", "LOCAL_FEATURES", "CostConfig", "EMGraphConfig", "EdgeClassifier",
    "ForestConfig", "GraphConfig", "RegionGraph", "SuperpixelConfig", "available_solvers",
    "lifted_edge_features", "lifted_edges", "lifted_feature_names", "lifted_multicut",
    "lifted_multicut_objective", "local_edge_features", "multicut", "multicut_objective",
    "probabilities_to_costs", "region_adjacency_graph", "region_table", "segment_em",
    "train_edge_classifier", "watershed_superpixels",
]
