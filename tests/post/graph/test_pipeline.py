"""The EM graph pipeline on synthetic EM (``em_stack`` in conftest.py): train the edge forests on
slices 0–3, evaluate on the held-out slices 4–5."""
import numpy as np
import pytest
from skimage.measure import label as connected
from sklearn.metrics import roc_auc_score

from microseg.config import from_dict
from microseg.errors import ConfigError, InputError
from microseg.metrics import vrand_vinfo
from microseg.post.graph import EMGraphConfig, EdgeClassifier, segment_em, \
    train_edge_classifier
from microseg.post.graph.pipeline import build_graph, build_lifted, node_ground_truth

CONFIG = {"forest": {"n_estimators": 30, "n_jobs": 1}}


@pytest.fixture(scope="module")
def trained(em_stack):
    raw, gt, boundary = em_stack
    return train_edge_classifier(boundary[:4], raw[:4], gt[:4], CONFIG)


def _targets(uv, majority, valid):
    keep = valid[uv[:, 0]] & valid[uv[:, 1]]
    return (majority[uv[:, 0]] != majority[uv[:, 1]])[keep], keep


def test_forests_separate_true_and_false_edges_on_held_out_slices(em_stack, trained):
    raw, gt, boundary = em_stack
    config = from_dict(EMGraphConfig, CONFIG)
    em = build_graph(boundary[4:], raw[4:], config)
    majority, valid = node_ground_truth(em.superpixels, gt[4:], em.graph.n_nodes)
    cut, keep = _targets(em.graph.uv_ids, majority, valid)
    probability = trained.predict_local(em.local_features)
    assert 0.2 < cut.mean() < 0.9                       # both kinds of edges are present
    assert roc_auc_score(cut, probability[keep]) > 0.9
    lifted_uv, features = build_lifted(em, probability, config)
    lifted_cut, lifted_keep = _targets(lifted_uv, majority, valid)
    assert 0 < lifted_cut.mean() < 1
    assert roc_auc_score(lifted_cut, trained.predict_lifted(features)[lifted_keep]) > 0.9


def test_node_ground_truth_takes_the_majority_foreground_object():
    superpixels = np.array([[1, 1, 1, 2, 2],
                            [1, 1, 3, 3, 3]])
    gt = np.array([[5, 5, 0, 7, 7],
                   [0, 7, 0, 0, 0]])
    majority, valid = node_ground_truth(superpixels, gt, 4)
    assert majority[1] == 5 and majority[2] == 7       # membrane pixels (0) do not vote
    assert valid.tolist() == [False, True, True, False]


def test_pipeline_beats_thresholding(em_stack, trained):
    raw, gt, boundary = em_stack
    threshold = max(vrand_vinfo(gt[4:], np.stack([connected(b < t, connectivity=1)
                                                  for b in boundary[4:]]), per_slice=True).v_rand
                    for t in np.arange(0.1, 1.0, 0.1))
    scores = {}
    for method in ("multicut", "lifted_multicut"):
        labels = segment_em(boundary[4:], raw[4:], trained, method=method)
        assert labels.shape == boundary[4:].shape and labels.min() == 1
        scores[method] = vrand_vinfo(gt[4:], labels, per_slice=True).v_rand
    superpixels = segment_em(boundary[4:], raw[4:], trained, method="superpixels")
    scores["superpixels"] = vrand_vinfo(gt[4:], superpixels, per_slice=True).v_rand
    print(f"\nV_rand on held-out slices: best threshold {threshold:.3f}, {scores}")
    assert scores["multicut"] > threshold + 0.05
    assert scores["lifted_multicut"] > threshold + 0.05
    assert scores["multicut"] > scores["superpixels"]


def test_without_classifier_uses_the_boundary_map(em_stack):
    raw, gt, boundary = em_stack
    labels = segment_em(boundary[4], None, None, method="lifted_multicut")
    assert labels.shape == boundary[4].shape
    assert vrand_vinfo(gt[4], labels).v_rand > 0.8


def test_3d_mode_links_sections(em_stack):
    raw, gt, boundary = em_stack
    config = {**CONFIG, "graph": {"mode": "3d", "sampling": [5.0, 1.0, 1.0]}}
    classifier = train_edge_classifier([boundary[:4]], [raw[:4]], [gt[:4]], config)
    labels = segment_em(boundary[4:], raw[4:], classifier, method="lifted_multicut")
    spans = [len(np.unique(np.nonzero(labels == i)[0])) for i in range(1, labels.max() + 1)]
    assert np.mean(np.array(spans) == 2) > 0.8            # most segments continue to slice 5
    assert vrand_vinfo(gt[4:], labels).v_rand > 0.95     # scored as 3D segments


def test_classifier_round_trip_keeps_its_configuration(tmp_path, em_stack, trained):
    raw, _, boundary = em_stack
    path = trained.save(tmp_path / "edges.npz")
    loaded = EdgeClassifier.load(path)
    a = segment_em(boundary[5], raw[5], trained)
    b = segment_em(boundary[5], raw[5], loaded)
    assert np.array_equal(a, b)
    assert loaded.config["forest"]["n_estimators"] == 30


def test_pipeline_errors(em_stack, trained):
    raw, _, boundary = em_stack
    with pytest.raises(ConfigError, match="method"):
        segment_em(boundary[5], raw[5], trained, method="watershed")
    with pytest.raises(ConfigError, match="raw"):
        segment_em(boundary[5], None, trained)
    with pytest.raises(InputError, match="shape"):
        segment_em(boundary[5], raw[5, :10], trained)
    with pytest.raises(InputError, match="shape"):
        train_edge_classifier([boundary[0]], [raw[0]], [raw[0, :5]], CONFIG)
    with pytest.raises(ConfigError, match="mode"):
        segment_em(boundary[5], raw[5], None, config={"graph": {"mode": "4d"}})


def test_hierarchical_solver_in_the_pipeline(em_stack, trained):
    raw, gt, boundary = em_stack
    config = {**CONFIG, "solver": "hierarchical", "solver_options": {"block_shape": 40.0}}
    blockwise = segment_em(boundary[4:], raw[4:], trained, "lifted_multicut", config)
    whole = segment_em(boundary[4:], raw[4:], trained, "lifted_multicut", CONFIG)
    assert vrand_vinfo(gt[4:], blockwise, per_slice=True).v_rand > \
        vrand_vinfo(gt[4:], whole, per_slice=True).v_rand - 0.02
