import numpy as np
import pytest

from microseg.errors import InputError
from microseg.post.graph import lifted_multicut_objective, multicut_objective

UV = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
COSTS = np.array([1.5, -2.0, 0.5, 4.0])


def test_multicut_objective_sums_cut_edges():
    # labels 0,0,1,1: cut edges (1,2) and (0,3) → -2.0 + 4.0
    assert multicut_objective(4, UV, COSTS, np.array([0, 0, 1, 1])) == pytest.approx(2.0)
    assert multicut_objective(4, UV, COSTS, np.zeros(4, int)) == 0.0
    assert multicut_objective(4, UV, COSTS, np.arange(4)) == pytest.approx(COSTS.sum())


def test_multicut_objective_matches_direct_count(cut):
    rng = np.random.default_rng(3)
    for _ in range(20):
        labels = rng.integers(0, 3, 4)
        assert multicut_objective(4, UV, COSTS, labels) == pytest.approx(cut(labels, UV, COSTS)[0])


def test_lifted_objective_splits_disconnected_clusters():
    uv = np.array([[0, 1], [1, 2], [2, 3]])          # path 0-1-2-3
    costs = np.array([1.0, -1.0, 1.0])
    luv, lcosts = np.array([[0, 2], [0, 3], [1, 3]]), np.array([2.0, -3.0, 0.5])
    # connected clusters {0,1}, {2,3}: local cut (1,2) = -1; lifted cut all three = -0.5
    assert lifted_multicut_objective(4, uv, costs, luv, lcosts, np.array([0, 0, 1, 1])) \
        == pytest.approx(-1.5)
    # label 0 on {0, 3} is not connected: it stands for {0}, {1, 2}, {3}, so local (0,1), (2,3)
    # and every lifted edge are cut (the lifted edge (0, 3) too)
    assert lifted_multicut_objective(4, uv, costs, luv, lcosts, np.array([0, 1, 1, 0])) \
        == pytest.approx((1.0 + 1.0) + (2.0 - 3.0 + 0.5))


@pytest.mark.parametrize("uv, costs, message", [
    (np.array([[0, 5]]), np.array([1.0]), "out of range"),
    (np.array([[-1, 2]]), np.array([1.0]), "out of range"),
    (np.array([[2, 2]]), np.array([1.0]), "self-loop"),
    (np.array([[0, 1]]), np.array([np.nan]), "finite"),
    (np.array([[0, 1], [1, 2]]), np.array([1.0]), "shape"),
    (np.array([0, 1, 2]), np.array([1.0]), "shape"),
    (np.array([[0.5, 1.0]]), np.array([1.0]), "integer"),
])
def test_bad_edges_raise(uv, costs, message):
    with pytest.raises(InputError, match=message):
        multicut_objective(3, uv, costs, np.zeros(3, int))
    with pytest.raises(ValueError):
        lifted_multicut_objective(3, np.array([[0, 1]]), np.array([1.0]), uv, costs,
                                  np.zeros(3, int))


def test_bad_labels_raise():
    with pytest.raises(InputError, match="shape"):
        multicut_objective(4, UV, COSTS, np.zeros(3, int))
    with pytest.raises(InputError, match="integers"):
        multicut_objective(4, UV, COSTS, np.zeros(4))
    with pytest.raises(InputError, match="n_nodes"):
        multicut_objective(-1, UV, COSTS, np.zeros(4, int))
