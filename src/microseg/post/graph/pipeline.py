"""EM neuron segmentation from a boundary map: superpixels → region adjacency graph → edge
features → random-forest cut probabilities → costs → multicut or lifted multicut
(RC-SPCNet post-processing, 001_8efe375831c61076.txt, after Beier et al. 2017).

    classifier = train_edge_classifier([boundary], [raw], [gt], config)
    labels = segment_em(boundary, raw, classifier, method="lifted_multicut")
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from microseg.config import check_choice, from_dict, to_dict
from microseg.errors import ConfigError, InputError
from microseg.io.images import as_labels
from microseg.post.graph.config import EMGraphConfig
from microseg.post.graph.costs import probabilities_to_costs
from microseg.post.graph.edge_classifier import EdgeClassifier, fit_forest, \
    out_of_fold_probabilities
from microseg.post.graph.features import LOCAL_FEATURES, RegionTable, local_edge_features, \
    region_table
from microseg.post.graph.lifted import lifted_edge_features, lifted_edges, lifted_feature_names
from microseg.post.graph.rag import RegionGraph, region_adjacency_graph
from microseg.post.graph.solvers import lifted_multicut, multicut
from microseg.post.graph.superpixels import watershed_superpixels
from microseg.preprocess.normalize import normalize_percentile

METHODS = ("superpixels", "multicut", "lifted_multicut")


@dataclass(frozen=True, eq=False)
class EMGraph:
    """Superpixels ``(Z, Y, X)``/``(Y, X)`` with their region graph, region table and local edge
    features ``(E, F)``."""

    superpixels: np.ndarray
    graph: RegionGraph
    regions: RegionTable
    local_features: np.ndarray

    @property
    def edge_boundary(self) -> np.ndarray:
        """Mean boundary probability over every local edge's face ``(E,)``."""
        return self.local_features[:, LOCAL_FEATURES.index("boundary_mean")]


def _check_inputs(boundary: np.ndarray, raw: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    boundary = np.asarray(boundary, dtype=np.float32)
    if boundary.ndim not in (2, 3):
        raise InputError(None, f"boundary map must be (Y, X) or (Z, Y, X), got {boundary.shape}")
    if raw is None:
        return boundary, boundary
    raw = np.asarray(raw)
    if raw.shape != boundary.shape:
        raise InputError(None, f"raw image {raw.shape} and boundary map {boundary.shape} differ "
                               f"in shape")
    return boundary, normalize_percentile(raw, clip=True)


def build_graph(boundary: np.ndarray, raw: np.ndarray | None,
                config: EMGraphConfig) -> EMGraph:
    """Superpixels, region graph and local edge features of one image or stack (raw None: the
    boundary map stands in for it)."""
    boundary, raw = _check_inputs(boundary, raw)
    sp_config = config.superpixels
    if config.graph.mode == "2d" and not sp_config.per_slice:
        sp_config = replace(sp_config, per_slice=True)
    sampling = config.graph.sampling
    superpixels = watershed_superpixels(boundary, sp_config, sampling)
    axes = (1, 2) if boundary.ndim == 3 and config.graph.mode == "2d" else None
    graph = region_adjacency_graph(superpixels, axes)
    regions = region_table(superpixels, boundary, raw, graph.n_nodes, sampling)
    features = local_edge_features(graph, regions, boundary, raw, config.graph.boundary_sigma)
    return EMGraph(superpixels, graph, regions, features)


def build_lifted(em: EMGraph, edge_probability: np.ndarray,
                 config: EMGraphConfig) -> tuple[np.ndarray, np.ndarray]:
    """Lifted edges ``(L, 2)`` and their features ``(L, F)`` given local cut probabilities."""
    lifted_uv, hops = lifted_edges(em.graph.n_nodes, em.graph.uv_ids,
                                   config.graph.lifted_distance)
    features = lifted_edge_features(em.graph, em.regions, lifted_uv, hops, em.edge_boundary,
                                    edge_probability, config.graph.thresholds)
    return lifted_uv, features


def node_ground_truth(superpixels: np.ndarray, gt: np.ndarray, n_nodes: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """For every node: the GT object covering most of its foreground pixels ``(n_nodes,)`` and
    whether it has any (GT background/membrane 0 does not count; nodes without foreground are
    not labelled)."""
    gt = np.asarray(gt).astype(np.int64).reshape(-1)
    nodes = np.asarray(superpixels).astype(np.int64).reshape(-1)
    fg = gt > 0
    pairs, counts = np.unique(nodes[fg] * (int(gt.max()) + 1) + gt[fg], return_counts=True)
    node, obj = np.divmod(pairs, int(gt.max()) + 1)
    order = np.lexsort((counts, node))           # last entry per node = its majority object
    last = np.r_[node[order][1:] != node[order][:-1], True]
    majority = np.zeros(n_nodes, np.int64)
    valid = np.zeros(n_nodes, bool)
    majority[node[order][last]] = obj[order][last]
    valid[node[order][last]] = True
    return majority, valid


def _edge_targets(uv: np.ndarray, majority: np.ndarray, valid: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Cut labels ``(E,)`` (1 = different GT objects) and which edges have a label."""
    keep = valid[uv[:, 0]] & valid[uv[:, 1]]
    return (majority[uv[:, 0]] != majority[uv[:, 1]]).astype(np.int64), keep


def _edge_sections(em: EMGraph) -> np.ndarray:
    """Section (z index) of the first node of every local edge; 0 for 2D images."""
    if em.superpixels.ndim == 2:
        return np.zeros(em.graph.n_edges, np.int64)
    section = np.zeros(em.graph.n_nodes, np.int64)
    section[em.superpixels.reshape(len(em.superpixels), -1)] = \
        np.arange(len(em.superpixels))[:, None]
    return section[em.graph.uv_ids[:, 0]]


def _as_list(arrays: np.ndarray | Sequence[np.ndarray | None] | None, n: int, what: str
             ) -> list:
    if arrays is None:
        return [None] * n
    items = [arrays] if isinstance(arrays, np.ndarray) else list(arrays)
    if len(items) != n:
        raise InputError(None, f"{what}: expected {n} arrays (one per boundary map), got "
                               f"{len(items)}")
    return items


def train_edge_classifier(boundary_probs: np.ndarray | Sequence[np.ndarray],
                          raws: np.ndarray | Sequence[np.ndarray] | None,
                          gt_labels: np.ndarray | Sequence[np.ndarray],
                          config: EMGraphConfig | dict | None = None,
                          lifted: bool = True) -> EdgeClassifier:
    """Fit the local (and lifted) edge random forests on training images with ground truth.

    Args:
        boundary_probs: one boundary map or a list, each ``(Y, X)`` or ``(Z, Y, X)`` in [0, 1].
        raws: the matching raw images (or None to use the boundary maps).
        gt_labels: the matching GT instance labels (0 = membrane/background, ignored).
        config: :class:`EMGraphConfig` (or a dict for it); stored in the classifier.
        lifted: also train the lifted-edge forest. Its path features use local cut probabilities
            predicted out of fold (by forests that did not see the section), so they are as
            reliable as at inference.
    """
    config = _config(config)
    boundaries = [boundary_probs] if isinstance(boundary_probs, np.ndarray) \
        else list(boundary_probs)
    raw_list = _as_list(raws, len(boundaries), "raws")
    gt_list = _as_list(gt_labels, len(boundaries), "gt_labels")
    graphs, targets, groups = [], [], []
    for index, (boundary, raw, gt) in enumerate(zip(boundaries, raw_list, gt_list)):
        if np.shape(gt) != np.shape(boundary):
            raise InputError(None, f"gt_labels[{index}] {np.shape(gt)} and boundary map "
                                   f"{np.shape(boundary)} differ in shape")
        em = build_graph(boundary, raw, config)
        majority, valid = node_ground_truth(em.superpixels, gt, em.graph.n_nodes)
        graphs.append((em, majority, valid))
        targets.append(_edge_targets(em.graph.uv_ids, majority, valid))
        groups.append(np.stack([np.full(em.graph.n_edges, index), _edge_sections(em)], axis=1))
    local_x = np.concatenate([em.local_features[keep] for (em, _, _), (_, keep)
                              in zip(graphs, targets)])
    local_y = np.concatenate([y[keep] for y, keep in targets])
    # cross-validation groups: one per (image, section)
    local_groups = np.unique(np.concatenate([g[keep] for g, (_, keep) in zip(groups, targets)]),
                             axis=0, return_inverse=True)[1].reshape(-1)
    local_forest = fit_forest(local_x, local_y, config.forest, "local")
    lifted_forest, lifted_names = None, ()
    if lifted:
        oof = out_of_fold_probabilities(local_x, local_y, local_groups, config.forest)
        lifted_x, lifted_y, start = [], [], 0
        for (em, majority, valid), (_, keep) in zip(graphs, targets):
            # edges without GT were not trained on: the full forest predicts them as at inference
            probability = local_forest.predict_proba(em.local_features)[:, 1]
            probability[keep] = oof[start:start + int(keep.sum())]
            start += int(keep.sum())
            lifted_uv, features = build_lifted(em, probability, config)
            y, lifted_keep = _edge_targets(lifted_uv, majority, valid)
            lifted_x.append(features[lifted_keep])
            lifted_y.append(y[lifted_keep])
        lifted_forest = fit_forest(np.concatenate(lifted_x), np.concatenate(lifted_y),
                                   config.forest, "lifted")
        lifted_names = lifted_feature_names(config.graph.thresholds)
    return EdgeClassifier(local_forest, lifted_forest, LOCAL_FEATURES, lifted_names,
                          config=to_dict(config) | {"uses_raw": raws is not None})


def _config(config: EMGraphConfig | dict | None) -> EMGraphConfig:
    if config is None:
        return EMGraphConfig()
    if isinstance(config, dict):
        return from_dict(EMGraphConfig, config)
    return config


def _solve(em: EMGraph, costs: np.ndarray, lifted: tuple[np.ndarray, np.ndarray] | None,
           config: EMGraphConfig) -> np.ndarray:
    options = dict(config.solver_options)
    if config.solver == "hierarchical" and "node_coords" not in options:
        options["node_coords"] = em.regions.centroids
    n, uv = em.graph.n_nodes, em.graph.uv_ids
    if lifted is None:
        return multicut(n, uv, costs, solver=config.solver, **options)
    return lifted_multicut(n, uv, costs, lifted[0], lifted[1], solver=config.solver, **options)


def segment_em(boundary_prob: np.ndarray, raw: np.ndarray | None,
               classifier: EdgeClassifier | None = None, method: str = "multicut",
               config: EMGraphConfig | dict | None = None) -> np.ndarray:
    """Instance segmentation of an EM image or stack from its boundary map.

    Args:
        boundary_prob: ``(Y, X)`` or ``(Z, Y, X)`` boundary (membrane) probabilities in [0, 1].
        raw: the raw image of the same shape (or None when the classifier was trained without).
        classifier: trained :class:`EdgeClassifier`; None uses the mean boundary value of a face
            as its cut probability and the minimax path value for lifted edges.
        method: ``"multicut"``, ``"lifted_multicut"`` or ``"superpixels"`` (no merging).
        config: :class:`EMGraphConfig` (or dict); default: the classifier's training
            configuration, else the defaults.
    Returns:
        Labels of the same shape (uint16/uint32, ids 1..N). In ``"2d"`` mode every segment lies
        in one section.
    """
    check_choice("segment_em: method", method, METHODS)
    if config is None and classifier is not None:
        config = {k: v for k, v in classifier.config.items() if k != "uses_raw"}
    config = _config(config)
    if classifier is not None and classifier.config.get("uses_raw", True) != (raw is not None):
        raise ConfigError("segment_em: the edge classifier was trained "
                          f"{'with' if raw is None else 'without'} raw images; pass the same")
    em = build_graph(boundary_prob, raw, config)
    if method == "superpixels":
        return em.superpixels
    probability = em.edge_boundary if classifier is None \
        else classifier.predict_local(em.local_features)
    costs = probabilities_to_costs(probability, config.costs.beta, config.costs.clip)
    lifted = None
    if method == "lifted_multicut":
        lifted_uv, features = build_lifted(em, probability, config)
        minimax = lifted_feature_names(config.graph.thresholds).index("minimax_boundary")
        lifted_probability = features[:, minimax] if classifier is None \
            else classifier.predict_lifted(features)
        lifted = (lifted_uv, config.costs.lifted_weight * probabilities_to_costs(
            lifted_probability, config.costs.lifted_beta, config.costs.clip))
    node_labels = _solve(em, costs, lifted, config)
    segments = node_labels[em.superpixels]
    ids, inverse = np.unique(segments, return_inverse=True)
    return as_labels(inverse.reshape(segments.shape) + 1)
