"""Random forests as plain arrays: a file format that cannot run code.

A fitted scikit-learn ``RandomForestClassifier`` is stored as each tree's node table (children,
split feature, threshold) and leaf class counts: numbers only, written with ``numpy.savez`` and
read with ``allow_pickle=False``, so a file from a stranger can at worst hold wrong numbers. Those
are checked before use (every child index inside the tree and after its parent, so traversal ends;
every split feature inside the feature count; counts finite), because scikit-learn's compiled
traversal trusts them. The forest is then rebuilt as a scikit-learn estimator, so prediction runs
at scikit-learn's speed. (Pickle-based formats, joblib included, execute code on load; skops
rebuilds trees without checking node indices.)
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree

#: Node fields written per tree (the rest of scikit-learn's node record is rebuilt as zeros).
NODE_FIELDS = ("left_child", "right_child", "feature", "threshold")
#: Where a sample with a missing (NaN) feature goes at a split (scikit-learn ≥ 1.3); stored
#: when the fitting scikit-learn has it, 0 (right) otherwise.
MISSING_FIELD = "missing_go_to_left"
LEAF = -1


class ForestFormatError(ValueError):
    """The arrays do not describe a valid forest (the message says what is wrong)."""


def forest_to_arrays(forest: RandomForestClassifier, prefix: str) -> dict[str, np.ndarray]:
    """The arrays describing a fitted binary or multi-class ``forest``, keys under ``prefix``."""
    if getattr(forest, "n_outputs_", 1) != 1:
        raise ValueError("only single-output forests can be stored")
    arrays = {f"{prefix}/classes": np.asarray(forest.classes_),
              f"{prefix}/n_features": np.asarray(forest.n_features_in_, np.int64),
              f"{prefix}/n_trees": np.asarray(len(forest.estimators_), np.int64)}
    for index, estimator in enumerate(forest.estimators_):
        state = estimator.tree_.__getstate__()
        nodes = state["nodes"]
        for name in NODE_FIELDS + (MISSING_FIELD,):
            if name in nodes.dtype.names:
                arrays[f"{prefix}/{index}/{name}"] = np.ascontiguousarray(nodes[name])
        arrays[f"{prefix}/{index}/values"] = np.ascontiguousarray(state["values"][:, 0, :],
                                                                  dtype=np.float64)
        arrays[f"{prefix}/{index}/max_depth"] = np.asarray(state["max_depth"], np.int64)
    return arrays


def forest_from_arrays(arrays: Mapping[str, np.ndarray], prefix: str) -> RandomForestClassifier:
    """The forest stored under ``prefix`` by :func:`forest_to_arrays`, checked and rebuilt;
    :class:`ForestFormatError` naming the first problem."""
    classes = _get(arrays, f"{prefix}/classes")
    n_features = int(_scalar(arrays, f"{prefix}/n_features"))
    n_trees = int(_scalar(arrays, f"{prefix}/n_trees"))
    if classes.ndim != 1 or classes.size < 2 or classes.dtype.kind not in "biuf":
        raise ForestFormatError(f"{prefix}: classes must be at least two numbers")
    if n_features < 1 or n_trees < 1:
        raise ForestFormatError(f"{prefix}: needs at least one feature and one tree")
    node_dtype = _node_dtype()
    trees = []
    for index in range(n_trees):
        key = f"{prefix}/{index}"
        fields = {name: _get(arrays, f"{key}/{name}") for name in NODE_FIELDS}
        values = _get(arrays, f"{key}/values")
        _check_tree(key, fields, values, n_features, classes.size)
        nodes = np.zeros(values.shape[0], node_dtype)
        for name, column in fields.items():
            nodes[name] = column
        missing = arrays.get(f"{key}/{MISSING_FIELD}")
        if missing is not None and MISSING_FIELD in node_dtype.names:
            missing = np.asarray(missing)
            if missing.shape != (values.shape[0],) or missing.dtype.kind not in "biu" \
                    or np.any((missing != 0) & (missing != 1)):
                raise ForestFormatError(f"{key}: {MISSING_FIELD} must be 0 or 1 per node")
            nodes[MISSING_FIELD] = missing
        tree = Tree(n_features, np.array([classes.size], np.intp), 1)
        tree.__setstate__({"max_depth": int(_scalar(arrays, f"{key}/max_depth")),
                           "node_count": values.shape[0], "nodes": nodes,
                           "values": np.ascontiguousarray(values[:, None, :], np.float64)})
        estimator = DecisionTreeClassifier()
        estimator.tree_ = tree
        estimator.n_outputs_ = 1
        estimator.classes_ = classes
        estimator.n_classes_ = classes.size
        estimator.n_features_in_ = n_features
        estimator.max_features_ = n_features
        trees.append(estimator)
    forest = RandomForestClassifier(n_estimators=n_trees, n_jobs=-1)   # predicts on all cores
    forest.estimators_ = trees
    forest.classes_ = classes
    forest.n_classes_ = classes.size
    forest.n_outputs_ = 1
    forest.n_features_in_ = n_features
    return forest


def _check_tree(key: str, fields: dict[str, np.ndarray], values: np.ndarray, n_features: int,
                n_classes: int) -> None:
    """Raise :class:`ForestFormatError` unless the node table is a finite, well-formed tree."""
    if values.ndim != 2 or values.shape[1] != n_classes or values.shape[0] < 1:
        raise ForestFormatError(f"{key}: values must be (nodes, {n_classes})")
    n = values.shape[0]
    for name, column in fields.items():
        if column.shape != (n,):
            raise ForestFormatError(f"{key}: {name} must have one entry per node ({n})")
    left, right = fields["left_child"], fields["right_child"]
    feature, threshold = fields["feature"], fields["threshold"]
    if any(c.dtype.kind not in "iu" for c in (left, right, feature)) or \
            threshold.dtype.kind != "f":
        raise ForestFormatError(f"{key}: children and features must be integers, thresholds "
                                f"floats")
    # an infinite threshold is legitimate (a split that only sends missing values one way)
    if not np.all(np.isfinite(values)) or np.any(np.isnan(threshold)):
        raise ForestFormatError(f"{key}: non-finite values or NaN thresholds")
    leaf = left == LEAF
    if np.any((right == LEAF) != leaf):
        raise ForestFormatError(f"{key}: a node has exactly one child")
    nodes = np.arange(n)
    split = ~leaf
    if np.any((left[split] <= nodes[split]) | (left[split] >= n)
              | (right[split] <= nodes[split]) | (right[split] >= n)):
        raise ForestFormatError(f"{key}: a child index is outside the tree or not after its "
                                f"parent")
    if np.any((feature[split] < 0) | (feature[split] >= n_features)):
        raise ForestFormatError(f"{key}: a split uses a feature outside 0..{n_features - 1}")


def _node_dtype() -> np.dtype:
    """This scikit-learn's node record (it gains fields between versions)."""
    probe = Tree(1, np.array([2], np.intp), 1)
    return probe.__getstate__()["nodes"].dtype


def _get(arrays: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    if key not in arrays:
        raise ForestFormatError(f"missing array {key!r}")
    return np.asarray(arrays[key])


def _scalar(arrays: Mapping[str, np.ndarray], key: str) -> Any:
    value = _get(arrays, key)
    if value.shape != () or value.dtype.kind not in "iu":
        raise ForestFormatError(f"{key} must be one integer")
    return value.item()
