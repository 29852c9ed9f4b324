"""Region graph and edge features on tiny hand-built images, values computed by hand."""
import numpy as np
import pytest

from microseg.errors import InputError
from microseg.post.graph.features import LOCAL_FEATURES, REGION_PAIR_FEATURES, STATISTICS, \
    face_statistics, grouped_statistics, local_edge_features, region_pair_features, region_table
from microseg.post.graph.rag import region_adjacency_graph

LABELS = np.array([[1, 1, 2, 2],
                   [1, 1, 2, 2],
                   [3, 3, 3, 2]])
BOUNDARY = np.array([[0.0, 0.2, 0.6, 0.0],
                     [0.0, 0.4, 0.8, 0.0],
                     [1.0, 0.5, 0.3, 0.9]])


def test_edges_and_face_sizes_by_hand():
    g = region_adjacency_graph(LABELS)
    # 1-2: pairs (0,1)|(0,2), (1,1)|(1,2) → 2; 1-3: (1,0)|(2,0), (1,1)|(2,1) → 2;
    # 2-3: (1,2)|(2,2) vertical and (2,2)|(2,3) horizontal → 2
    assert g.uv_ids.tolist() == [[1, 2], [1, 3], [2, 3]]
    assert g.face_sizes().tolist() == [2, 2, 2]
    assert g.face_sizes(axes=(0,)).tolist() == [0, 2, 1]
    assert g.n_nodes == 4


def test_face_mean_boundary_by_hand():
    g = region_adjacency_graph(LABELS)
    stats = face_statistics(g, BOUNDARY)
    mean, low, high = (STATISTICS.index(s) for s in ("mean", "min", "max"))
    # 1-2 samples 0.2, 0.6, 0.4, 0.8; 1-3: 0.0, 1.0, 0.4, 0.5; 2-3: 0.8, 0.3, 0.3, 0.9
    assert stats[:, mean] == pytest.approx([0.5, 0.475, 0.575])
    assert stats[:, low] == pytest.approx([0.2, 0.0, 0.3])
    assert stats[:, high] == pytest.approx([0.8, 1.0, 0.9])


def test_background_and_axes():
    labels = np.array([[[1, 0, 2]], [[1, 1, 3]]])         # (Z=2, Y=1, X=3)
    g = region_adjacency_graph(labels)
    assert g.uv_ids.tolist() == [[1, 3], [2, 3]]     # 0 separates 1 and 2; 2 lies above 3
    assert region_adjacency_graph(labels, axes=(1, 2)).uv_ids.tolist() == [[1, 3]]
    assert region_adjacency_graph(labels, axes=(0,)).uv_ids.tolist() == [[2, 3]]
    with pytest.raises(InputError, match="axes"):
        region_adjacency_graph(labels, axes=(3,))


def test_grouped_statistics_match_numpy_per_group():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 30, 3000)
    values = rng.normal(size=3000)
    stats = grouped_statistics(groups, values, 32)
    for g in range(30):
        v = values[groups == g]
        expected = [v.mean(), v.std(), v.min(), v.max(), *np.quantile(v, [.1, .25, .5, .75, .9])]
        assert stats[g] == pytest.approx(expected)
    assert np.all(stats[30:] == 0)


def test_region_table_and_pair_features_by_hand():
    raw = np.arange(12, dtype=float).reshape(3, 4)
    regions = region_table(LABELS, BOUNDARY, raw, 4, sampling=(2.0, 1.0))
    assert regions.sizes.tolist() == [0, 4, 5, 3]
    assert regions.raw_mean[1] == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert regions.boundary_mean[3] == pytest.approx((1.0 + 0.5 + 0.3) / 3)
    assert regions.centroids[1] == pytest.approx([2.0 * 0.5, 0.5])   # y scaled by sampling
    pair = region_pair_features(regions, np.array([[1, 2]]))[0]
    named = dict(zip(REGION_PAIR_FEATURES, pair))
    assert named["log_size_min"] == pytest.approx(np.log1p(4))
    assert named["size_ratio"] == pytest.approx(4 / 5)
    assert named["raw_mean_diff"] == pytest.approx(abs(2.5 - (2 + 3 + 6 + 7 + 11) / 5))


def test_local_edge_features_columns():
    raw = np.linspace(0, 1, 12).reshape(3, 4)
    g = region_adjacency_graph(LABELS)
    regions = region_table(LABELS, BOUNDARY, raw, g.n_nodes)
    features = local_edge_features(g, regions, BOUNDARY, raw)
    assert features.shape == (3, len(LOCAL_FEATURES))
    assert np.all(np.isfinite(features))
    column = dict(zip(LOCAL_FEATURES, features.T))
    assert column["boundary_mean"] == pytest.approx([0.5, 0.475, 0.575])
    assert column["log_face_size"] == pytest.approx(np.log1p([2, 2, 2]))
    assert column["face_fraction_z"] == pytest.approx([0, 0, 0])   # 2D image: no sections
    with pytest.raises(InputError, match="shape"):
        local_edge_features(g, regions, BOUNDARY[:2], raw)
