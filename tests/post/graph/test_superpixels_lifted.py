import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from microseg.errors import ConfigError, InputError
from microseg.post.graph.agglomeration import clusters_at, mean_linkage, merge_heights, \
    single_linkage
from microseg.post.graph.features import region_table
from microseg.post.graph.lifted import lifted_edge_features, lifted_edges, lifted_feature_names
from microseg.post.graph.rag import region_adjacency_graph
from microseg.post.graph.superpixels import SuperpixelConfig, watershed_superpixels


def _cells(shape=(64, 64)):
    """Four square cells separated by a 2-px membrane cross (boundary = 1 on it)."""
    boundary = np.zeros(shape, np.float32)
    boundary[shape[0] // 2 - 1:shape[0] // 2 + 1] = 1.0
    boundary[:, shape[1] // 2 - 1:shape[1] // 2 + 1] = 1.0
    return boundary


def test_superpixels_follow_the_membranes():
    labels = watershed_superpixels(_cells(), SuperpixelConfig(min_distance=5))
    # every quadrant interior belongs to exactly one superpixel, different per quadrant
    quadrants = [labels[2:28, 2:28], labels[2:28, 36:62], labels[36:62, 2:28], labels[36:62, 36:62]]
    ids = [np.unique(q) for q in quadrants]
    assert all(len(i) == 1 for i in ids)
    assert len({int(i[0]) for i in ids}) == 4
    assert labels.min() >= 1 and np.array_equal(np.unique(labels), np.arange(1, labels.max() + 1))


def test_small_segments_are_merged():
    rng = np.random.default_rng(0)
    boundary = np.clip(_cells() + rng.normal(0, 0.3, (64, 64)), 0, 1).astype(np.float32)
    config = SuperpixelConfig(sigma_seeds=0.0, min_distance=1, min_size=30)
    labels = watershed_superpixels(boundary, config)
    assert np.bincount(labels.ravel())[1:].min() >= 30
    unfiltered = watershed_superpixels(boundary, SuperpixelConfig(sigma_seeds=0.0, min_distance=1,
                                                                  min_size=0))
    assert unfiltered.max() > labels.max()


def test_stack_per_slice_and_volume():
    stack = np.stack([_cells(), _cells(), np.roll(_cells(), 5, axis=1)])
    per_slice = watershed_superpixels(stack, SuperpixelConfig(min_distance=5))
    for label in range(1, per_slice.max() + 1):
        assert len(np.unique(np.nonzero(per_slice == label)[0])) == 1   # one slice per label
    assert per_slice.max() == 12
    volume = watershed_superpixels(stack, SuperpixelConfig(min_distance=5, per_slice=False),
                                   sampling=(4.0, 1.0, 1.0))
    spanning = [len(np.unique(np.nonzero(volume == label)[0])) for label in
                range(1, volume.max() + 1)]
    assert max(spanning) > 1                                            # segments cross slices


def test_superpixel_input_errors():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        watershed_superpixels(_cells() * 2)
    with pytest.raises(InputError, match="shape"):
        watershed_superpixels(np.zeros(5))
    with pytest.raises(InputError, match="sampling"):
        watershed_superpixels(_cells(), sampling=(1.0,))
    with pytest.raises(ConfigError):
        SuperpixelConfig(threshold=1.5)


def _random_graph(rng, n=40, p=0.08):
    uv = np.array([(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < p])
    return n, uv


def test_lifted_edges_are_the_pairs_at_distance_two_to_d():
    rng = np.random.default_rng(0)
    n, uv = _random_graph(rng)
    graph = coo_matrix((np.ones(len(uv)), (uv[:, 0], uv[:, 1])), shape=(n, n))
    hops = shortest_path(graph, directed=False, unweighted=True)
    for d in (2, 3, 4):
        lifted, distance = lifted_edges(n, uv, d)
        u, v = np.triu_indices(n, 1)
        expected = (hops[u, v] >= 2) & (hops[u, v] <= d)
        assert sorted(map(tuple, lifted.tolist())) == list(zip(u[expected], v[expected]))
        assert np.all(distance == hops[lifted[:, 0], lifted[:, 1]])
    with pytest.raises(ConfigError):
        lifted_edges(n, uv, 0)


def _minimax(n, uv, weights):
    """All-pairs minimax path values (Floyd–Warshall on max instead of plus)."""
    best = np.full((n, n), np.inf)
    np.fill_diagonal(best, 0.0)
    for (a, b), w in zip(uv, weights):
        best[a, b] = best[b, a] = min(best[a, b], w)
    for k in range(n):
        best = np.minimum(best, np.maximum(best[:, k:k + 1], best[k:k + 1, :]))
    return best


def test_single_linkage_heights_are_minimax_paths():
    rng = np.random.default_rng(1)
    n, uv = _random_graph(rng, n=50)
    weights = rng.random(len(uv))
    pairs = np.stack(np.triu_indices(n, 1), axis=1)
    heights = merge_heights(n, single_linkage(n, uv, weights), pairs)
    assert heights == pytest.approx(_minimax(n, uv, weights)[pairs[:, 0], pairs[:, 1]])


def test_mean_linkage_merges_by_weighted_mean():
    # path 0-1-2-3: (0,1) mean 0.2, (1,2) 0.9, (2,3) 0.5 → merges 0+1 at 0.2, 2+3 at 0.5, all at 0.9
    uv = np.array([[0, 1], [1, 2], [2, 3], [0, 2]])
    values = np.array([0.2, 0.9, 0.5, 0.9])
    weights = np.array([1.0, 3.0, 1.0, 1.0])
    merges = mean_linkage(4, uv, values, weights)
    assert merges.value.tolist() == pytest.approx([0.2, 0.5, 0.9])
    assert clusters_at(4, merges, 0.6).tolist()[0] == clusters_at(4, merges, 0.6).tolist()[1]
    assert len(set(clusters_at(4, merges, 0.6).tolist())) == 2
    assert merge_heights(4, merges, np.array([[0, 3], [2, 3]])) == pytest.approx([0.9, 0.5])


def test_lifted_edge_features_on_a_strip_of_regions():
    # five regions in a row; the face between regions 3 and 4 is a strong boundary
    labels = np.repeat(np.repeat(np.arange(1, 6)[None], 4, axis=0), 3, axis=1)
    boundary = np.zeros(labels.shape)
    boundary[:, 8:10] = 0.9
    g = region_adjacency_graph(labels)
    regions = region_table(labels, boundary, boundary, g.n_nodes)
    lifted, hops = lifted_edges(g.n_nodes, g.uv_ids, 3)
    face = np.array([0.0, 0.0, 0.9, 0.0])       # mean boundary of the faces 1-2, 2-3, 3-4, 4-5
    features = lifted_edge_features(g, regions, lifted, hops, face, face, thresholds=(0.5,))
    named = dict(zip(lifted_feature_names((0.5,)), features.T))
    by_pair = {tuple(p): i for i, p in enumerate(lifted.tolist())}
    assert named["minimax_boundary"][by_pair[(1, 3)]] == 0.0
    assert named["minimax_boundary"][by_pair[(2, 4)]] == pytest.approx(0.9)
    assert named["joined_t50"][by_pair[(1, 3)]] == 1 and named["joined_t50"][by_pair[(2, 5)]] == 0
    assert named["log_cluster_max_t50"][by_pair[(1, 3)]] == pytest.approx(np.log1p(36))
    assert named["hops"][by_pair[(1, 4)]] == 3
