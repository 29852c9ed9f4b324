import json

import joblib
import numpy as np
import pytest

from microseg.errors import ConfigError, InputError
from microseg.post.graph.costs import probabilities_to_costs
from microseg.post.graph.edge_classifier import EdgeClassifier, ForestConfig, fit_forest, \
    out_of_fold_probabilities
from microseg.post.graph.features import FEATURES_VERSION


def _data(rng, n=300, f=4):
    x = rng.normal(size=(n, f))
    y = (x[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return x, y


@pytest.fixture
def classifier():
    rng = np.random.default_rng(0)
    x, y = _data(rng)
    config = ForestConfig(n_estimators=10, n_jobs=1)
    forest = fit_forest(x, y, config)
    lifted = fit_forest(x[:, :2], y, config, "lifted")
    return EdgeClassifier(forest, lifted, ["a", "b", "c", "d"], ["a", "b"], {"solver": "kl"})


def test_predictions_follow_the_signal(classifier):
    x = np.zeros((2, 4))
    x[:, 0] = [-3.0, 3.0]
    p = classifier.predict_local(x)
    assert p[0] < 0.2 and p[1] > 0.8
    assert classifier.predict_lifted(x[:, :2]).shape == (2,)
    with pytest.raises(InputError, match="expects 4 features"):
        classifier.predict_local(np.zeros((2, 3)))


def test_save_load_round_trip_predicts_exactly_as_the_fitted_forests(tmp_path, classifier):
    path = classifier.save(tmp_path / "rf.npz")
    loaded = EdgeClassifier.load(path)
    x = np.random.default_rng(1).normal(size=(200, 4))
    # the same trees; only the order of summing their votes may differ (parallel prediction)
    np.testing.assert_allclose(loaded.predict_local(x), classifier.predict_local(x), atol=1e-12)
    np.testing.assert_allclose(loaded.predict_lifted(x[:, :2]),
                               classifier.predict_lifted(x[:, :2]), atol=1e-12)
    assert loaded.local_features == ("a", "b", "c", "d") and loaded.config == {"solver": "kl"}
    assert loaded.features_version == FEATURES_VERSION
    local_only = EdgeClassifier(classifier.local_forest, None, classifier.local_features)
    assert EdgeClassifier.load(local_only.save(tmp_path / "local.npz")).lifted_forest is None
    with pytest.raises(InputError, match=".npz"):
        classifier.save(tmp_path / "rf.joblib")


def _rewrite(path, out, **changes):
    """Copy the arrays of an .npz with some replaced (header given as a dict)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    for key, value in changes.items():
        key = key.replace("__", "/")
        arrays[key] = np.array(json.dumps(value)) if key == "header" else np.asarray(value)
    np.savez(out, **arrays)
    return out


def test_load_rejects_other_feature_versions_and_foreign_files(tmp_path, classifier):
    path = classifier.save(tmp_path / "rf.npz")
    header = json.loads(str(np.load(path)["header"][()]))
    old = _rewrite(path, tmp_path / "old.npz",
                   header={**header, "features_version": FEATURES_VERSION + 1})
    with pytest.raises(InputError, match="features version"):
        EdgeClassifier.load(old)
    np.savez(tmp_path / "foreign.npz", header=np.array(json.dumps({"something": 1})))
    with pytest.raises(InputError, match="not a microseg edge classifier"):
        EdgeClassifier.load(tmp_path / "foreign.npz")
    np.savez(tmp_path / "no_header.npz", x=np.zeros(3))
    with pytest.raises(InputError, match="cannot read"):
        EdgeClassifier.load(tmp_path / "no_header.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError):
        EdgeClassifier.load(tmp_path / "broken.npz")
    with pytest.raises(InputError, match="not found"):
        EdgeClassifier.load(tmp_path / "missing.npz")



def test_a_hostile_pickle_is_refused_without_running_it(tmp_path, classifier, hostile):
    payload, marker = hostile
    for name in ("evil.joblib", "evil.npz", "evil.pkl"):
        joblib.dump({"format": "microseg-edge-classifier", "x": payload},
                    tmp_path / name)
        with pytest.raises(InputError, match="can run code"):
            EdgeClassifier.load(tmp_path / name)
        assert not marker.exists()
    # an .npz holding a pickled object array is refused too (allow_pickle=False)
    np.savez(tmp_path / "objects.npz", header=np.array([payload], dtype=object))
    with pytest.raises(InputError):
        EdgeClassifier.load(tmp_path / "objects.npz")
    assert not marker.exists()


def test_ones_own_old_joblib_file_converts_when_the_caller_vouches_for_it(tmp_path, classifier):
    joblib.dump({"format": "microseg-edge-classifier", "features_version": FEATURES_VERSION,
                 "local_forest": classifier.local_forest, "lifted_forest": None,
                 "local_features": classifier.local_features, "lifted_features": (),
                 "config": {}}, tmp_path / "old.joblib")
    converted = EdgeClassifier.load(tmp_path / "old.joblib", allow_pickle=True)
    loaded = EdgeClassifier.load(converted.save(tmp_path / "new.npz"))
    x = np.random.default_rng(2).normal(size=(50, 4))
    np.testing.assert_allclose(loaded.predict_local(x), classifier.predict_local(x), atol=1e-12)


@pytest.mark.parametrize("key, value, message", [
    ("local__0__left_child", "out of range", "child index"),
    ("local__0__left_child", "self loop", "child index"),
    ("local__0__feature", "out of range", "feature outside"),
    ("local__0__threshold", "nan", "NaN thresholds"),
    ("local__0__values", "short", "values must be"),
    ("local__n_trees", "more", "missing array"),
])
def test_tampered_trees_are_refused_before_scikit_learn_walks_them(tmp_path, classifier, key,
                                                                  value, message):
    path = classifier.save(tmp_path / "rf.npz")
    with np.load(path) as archive:
        original = archive[key.replace("__", "/")]
    tampered = original.copy()
    split = int(np.flatnonzero(np.load(path)["local/0/left_child"] >= 0)[0])
    if value == "out of range":
        tampered[split] = 10_000
    elif value == "self loop":
        tampered[split] = split
    elif value == "nan":
        tampered[split] = np.nan
    elif value == "short":
        tampered = tampered[:, :1]
    else:
        tampered = original + 1
    bad = _rewrite(path, tmp_path / "bad.npz", **{key: tampered})
    with pytest.raises(InputError, match=message):
        EdgeClassifier.load(bad)


def test_missing_lifted_forest(classifier):
    only_local = EdgeClassifier(classifier.local_forest, None, classifier.local_features)
    with pytest.raises(ConfigError, match="lifted"):
        only_local.predict_lifted(np.zeros((1, 2)))


def test_training_needs_both_classes():
    with pytest.raises(InputError, match="both cut and uncut"):
        fit_forest(np.zeros((5, 2)), np.ones(5, int), ForestConfig(n_estimators=2))


def test_out_of_fold_probabilities_do_not_see_their_group():
    rng = np.random.default_rng(2)
    x, y = _data(rng, n=400)
    groups = np.repeat(np.arange(4), 100)
    # group 3 has its labels flipped: a forest that saw it would fit it, one that did not cannot
    y[groups == 3] = 1 - y[groups == 3]
    p = out_of_fold_probabilities(x, y, groups, ForestConfig(n_estimators=20, n_jobs=1))
    accuracy = np.mean((p > 0.5) == y)
    flipped = np.mean((p[groups == 3] > 0.5) == y[groups == 3])
    assert flipped < 0.3 < accuracy


def test_costs_from_probabilities():
    costs = probabilities_to_costs(np.array([0.0, 0.25, 0.5, 1.0]), clip=0.01)
    assert costs == pytest.approx([np.log(99), np.log(3), 0.0, -np.log(99)])
    # beta > 0.5 lowers every cost by log(beta / (1 - beta))
    biased = probabilities_to_costs(np.array([0.25]), beta=0.75)
    assert biased == pytest.approx([np.log(3) - np.log(3)])
    with pytest.raises(InputError):
        probabilities_to_costs(np.array([1.5]))
    with pytest.raises(ConfigError):
        probabilities_to_costs(np.array([0.5]), beta=1.0)


def test_nan_features_follow_the_same_branches_after_a_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    x, y = _data(rng)
    x[::4, 0] = np.nan                    # scikit-learn learns where missing values go
    forest = fit_forest(x, y, ForestConfig(n_estimators=10, n_jobs=1))
    classifier = EdgeClassifier(forest, None, ["a", "b", "c", "d"])
    loaded = EdgeClassifier.load(classifier.save(tmp_path / "rf.npz"))
    probe = rng.normal(size=(300, 4))
    probe[::2, 0] = np.nan
    np.testing.assert_allclose(loaded.predict_local(probe), classifier.predict_local(probe),
                               atol=1e-12)


def test_a_forest_without_the_cut_class_is_refused(tmp_path, classifier):
    path = classifier.save(tmp_path / "rf.npz")
    bad = _rewrite(path, tmp_path / "bad.npz", local__classes=np.array([0, 2]))
    with pytest.raises(InputError, match="cut"):
        EdgeClassifier.load(bad)


def test_a_pickle_file_name_is_refused_before_any_training(tmp_path):
    from microseg.pipelines.em import train_edges

    with pytest.raises(InputError, match=".npz"):
        train_edges(np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), "not-even-a-model",
                    tmp_path / "rf.joblib")
