"""Random-forest edge classifiers (one for local, one for lifted edges) that give the probability
that an edge is cut, trained on ground truth; saved as arrays only (``.npz``, see
:mod:`~microseg.post.graph.forest_arrays`), so loading a stranger's file never runs code.

A saved classifier records :data:`~microseg.post.graph.features.FEATURES_VERSION`, its feature
names and the graph configuration it was trained with; loading a file written for other features
raises :class:`~microseg.errors.InputError`. Pickle-based files (joblib, as microseg wrote before)
are refused unless the caller vouches for them (``allow_pickle=True``, to convert one's own).
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GroupKFold, KFold, cross_val_predict

from microseg.errors import ConfigError, InputError
from microseg.io.atomic import atomic_path
from microseg.post.graph.features import FEATURES_VERSION
from microseg.post.graph.forest_arrays import ForestFormatError, forest_from_arrays, \
    forest_to_arrays

FORMAT = "microseg-edge-classifier"
#: Version of the array layout of :meth:`EdgeClassifier.save`.
FILE_VERSION = 2
SUFFIX = ".npz"


@dataclass
class ForestConfig:
    """scikit-learn random forest settings (``n_jobs``: parallel trees; ``seed``: random state)."""

    n_estimators: int = 100
    max_depth: int | None = None
    min_samples_leaf: int = 2
    n_jobs: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_estimators < 1 or self.min_samples_leaf < 1 or \
                (self.max_depth is not None and self.max_depth < 1):
            raise ConfigError("random forest: n_estimators, min_samples_leaf and max_depth must "
                              "be >= 1")

    def build(self) -> RandomForestClassifier:
        return RandomForestClassifier(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                      min_samples_leaf=self.min_samples_leaf, n_jobs=self.n_jobs,
                                      random_state=self.seed)


def _check_training(features: np.ndarray, labels: np.ndarray, what: str) -> None:
    if features.ndim != 2 or len(features) != len(labels):
        raise InputError(None, f"{what} edges: features {features.shape} and labels "
                               f"{labels.shape} do not match")
    if len(np.unique(labels)) < 2:
        raise InputError(None, f"{what} edges: training needs both cut and uncut edges, found "
                               f"only {'cut' if len(labels) and labels[0] else 'uncut'} ones "
                               f"({len(labels)} edges)")


def fit_forest(features: np.ndarray, labels: np.ndarray, config: ForestConfig,
               what: str = "local") -> RandomForestClassifier:
    """A forest fitted to ``features`` ``(N, F)`` and cut labels ``(N,)`` (1 = cut)."""
    _check_training(features, labels, what)
    return config.build().fit(features, labels)


def out_of_fold_probabilities(features: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                              config: ForestConfig, n_splits: int = 3) -> np.ndarray:
    """Cut probabilities ``(N,)`` of every sample predicted by a forest that did not see its group
    (cross-validation over ``groups``, e.g. images or slices; random folds with one group)."""
    _check_training(features, labels, "local")
    n_groups = len(np.unique(groups))
    if n_groups >= 2:
        cv = GroupKFold(n_splits=min(n_splits, n_groups))
    else:
        cv = KFold(n_splits=n_splits, shuffle=True, random_state=config.seed)
    probabilities = cross_val_predict(config.build(), features, labels, groups=groups, cv=cv,
                                      method="predict_proba")
    return probabilities[:, 1]


def check_classifier_path(path: str | Path) -> Path:
    """``path`` as a Path; InputError unless it ends in ``.npz`` (checked before any training)."""
    path = Path(path)
    if path.suffix != SUFFIX:
        raise InputError(path, f"edge classifier files end in {SUFFIX} (arrays only; "
                               f"pickle-based files such as .joblib can run code)")
    return path


class EdgeClassifier:
    """Cut probabilities for local and (optionally) lifted edges.

    Args:
        local_forest / lifted_forest: fitted binary classifiers (class 1 = cut); ``lifted_forest``
            may be None (then only multicut can use this classifier).
        local_features / lifted_features: the feature names they were trained on.
        config: the graph pipeline configuration used for training (a plain dict).
        features_version: the :data:`FEATURES_VERSION` of the features.
    """

    def __init__(self, local_forest: Any, lifted_forest: Any | None,
                 local_features: Sequence[str], lifted_features: Sequence[str] = (),
                 config: dict | None = None, features_version: int = FEATURES_VERSION):
        self.local_forest = local_forest
        self.lifted_forest = lifted_forest
        self.local_features = tuple(local_features)
        self.lifted_features = tuple(lifted_features)
        self.config = dict(config or {})
        self.features_version = int(features_version)

    @staticmethod
    def _predict(forest: Any, features: np.ndarray, names: tuple[str, ...],
                 what: str) -> np.ndarray:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != len(names):
            raise InputError(None, f"{what} edge classifier expects {len(names)} features, got "
                                   f"an array of shape {features.shape}")
        if len(features) == 0:
            return np.zeros(0)
        return forest.predict_proba(features)[:, list(forest.classes_).index(1)]

    def predict_local(self, features: np.ndarray) -> np.ndarray:
        """Cut probability ``(E,)`` of local edges from their features ``(E, F)``."""
        return self._predict(self.local_forest, features, self.local_features, "local")

    def predict_lifted(self, features: np.ndarray) -> np.ndarray:
        """Cut probability ``(L,)`` of lifted edges from their features ``(L, F)``."""
        if self.lifted_forest is None:
            raise ConfigError("this edge classifier has no lifted-edge forest; train it with "
                              "lifted edges to use lifted multicut")
        return self._predict(self.lifted_forest, features, self.lifted_features, "lifted")

    def save(self, path: str | Path) -> Path:
        """Write the classifier to ``path`` (``.npz``: arrays and a JSON header, atomically);
        returns the path."""
        path = check_classifier_path(path)
        header = {"format": FORMAT, "file_version": FILE_VERSION,
                  "features_version": self.features_version,
                  "local_features": list(self.local_features),
                  "lifted_features": list(self.lifted_features), "config": self.config,
                  "lifted": self.lifted_forest is not None}
        arrays = {"header": np.array(json.dumps(header))}
        arrays.update(forest_to_arrays(self.local_forest, "local"))
        if self.lifted_forest is not None:
            arrays.update(forest_to_arrays(self.lifted_forest, "lifted"))
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path, allow_pickle: bool = False) -> "EdgeClassifier":
        """Read a classifier written by :meth:`save`; InputError for a missing, foreign or
        malformed file, or one trained on another features version. A pickle-based (joblib)
        file is refused unless ``allow_pickle`` (only for files you made yourself: unpickling
        runs code); convert it with ``EdgeClassifier.load(old, allow_pickle=True).save(new)``."""
        path = Path(path)
        if not path.is_file():
            raise InputError(path, "edge classifier file not found")
        if not zipfile.is_zipfile(path):
            if allow_pickle:
                return cls._load_pickle(path)
            raise InputError(path, f"not a microseg edge classifier ({SUFFIX}); pickle-based "
                                   f"files (joblib) can run code and are refused. Convert one "
                                   f"you made yourself with EdgeClassifier.load(path, "
                                   f"allow_pickle=True).save('edges{SUFFIX}')")
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            header = json.loads(str(arrays["header"][()]))
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
            raise InputError(path, f"cannot read edge classifier ({exc})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise InputError(path, "not a microseg edge classifier file")
        if header.get("file_version") != FILE_VERSION:
            raise InputError(path, f"edge classifier file version {header.get('file_version')} "
                                   f"is not {FILE_VERSION}; retrain it")
        cls._check_features_version(path, header.get("features_version"))
        try:
            local = forest_from_arrays(arrays, "local")
            lifted = forest_from_arrays(arrays, "lifted") if header.get("lifted") else None
            for forest in (local, lifted):
                if forest is not None and 1 not in list(forest.classes_):
                    raise ForestFormatError("a forest has no 'cut' class (1)")
            return cls(local, lifted, header["local_features"], header["lifted_features"],
                       header["config"], header["features_version"])
        except (ForestFormatError, KeyError, TypeError) as exc:
            raise InputError(path, f"malformed edge classifier: {exc}") from None

    @classmethod
    def _load_pickle(cls, path: Path) -> "EdgeClassifier":
        """A joblib file as microseg wrote before arrays (trusted by the caller)."""
        try:
            payload = joblib.load(path)
        except Exception as exc:  # joblib/pickle raise many types for a damaged file
            raise InputError(path, f"cannot read edge classifier ({exc})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise InputError(path, "not a microseg edge classifier file")
        cls._check_features_version(path, payload["features_version"])
        return cls(payload["local_forest"], payload["lifted_forest"], payload["local_features"],
                   payload["lifted_features"], payload["config"], payload["features_version"])

    @staticmethod
    def _check_features_version(path: Path, version: Any) -> None:
        if version != FEATURES_VERSION:
            raise InputError(path, f"edge classifier was trained on features version {version}, "
                                   f"this microseg computes version {FEATURES_VERSION}; "
                                   f"retrain it")
