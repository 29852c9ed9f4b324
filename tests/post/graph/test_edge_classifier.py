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


def test_save_load_round_trip(tmp_path, classifier):
    path = classifier.save(tmp_path / "rf.joblib")
    loaded = EdgeClassifier.load(path)
    x = np.random.default_rng(1).normal(size=(20, 4))
    assert np.array_equal(loaded.predict_local(x), classifier.predict_local(x))
    assert loaded.local_features == ("a", "b", "c", "d") and loaded.config == {"solver": "kl"}
    assert loaded.features_version == FEATURES_VERSION


def test_load_rejects_other_feature_versions_and_foreign_files(tmp_path, classifier):
    path = classifier.save(tmp_path / "rf.joblib")
    payload = joblib.load(path)
    payload["features_version"] = FEATURES_VERSION + 1
    joblib.dump(payload, tmp_path / "old.joblib")
    with pytest.raises(InputError, match="features version"):
        EdgeClassifier.load(tmp_path / "old.joblib")
    joblib.dump({"something": 1}, tmp_path / "foreign.joblib")
    with pytest.raises(InputError, match="not a microseg edge classifier"):
        EdgeClassifier.load(tmp_path / "foreign.joblib")
    (tmp_path / "broken.joblib").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="cannot read"):
        EdgeClassifier.load(tmp_path / "broken.joblib")
    with pytest.raises(InputError, match="not found"):
        EdgeClassifier.load(tmp_path / "missing.joblib")


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
