"""perturb_labels / touching_pairs / track_table on hand-built label images."""
import numpy as np
import pytest

from microseg.data.synthetic import perturb_labels, touching_pairs, track_table

NONE = dict(n_erode=0, n_dilate=0, n_merge=0, n_drop=0, n_spurious=0)


def squares():
    """Objects 1 and 2 touch; 3, 4, 5 are isolated squares of sides 6, 8, 4."""
    labels = np.zeros((40, 40), dtype=np.uint16)
    labels[2:8, 2:8] = 1
    labels[2:8, 8:14] = 2
    labels[20:26, 20:26] = 3
    labels[28:36, 2:10] = 4
    labels[30:34, 30:34] = 5
    return labels


def test_touching_pairs_finds_face_neighbours_only():
    labels = squares()
    labels[8, 14] = 6  # diagonal to object 2: not touching
    assert touching_pairs(labels).tolist() == [[1, 2]]
    cube = np.zeros((3, 3, 3), dtype=np.uint8)
    cube[0], cube[1, 0], cube[2] = 1, 2, 3
    assert touching_pairs(cube).tolist() == [[1, 2], [2, 3]]  # 1 and 3 are a slice apart


def test_nothing_requested_changes_nothing():
    labels = squares()
    assert np.array_equal(perturb_labels(labels, np.random.default_rng(0), **NONE), labels)


def test_merge_joins_the_touching_pair():
    labels = squares()
    out = perturb_labels(labels, np.random.default_rng(0), **{**NONE, "n_merge": 1})
    expected = np.where(labels == 2, 1, labels)
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("seed", range(3))
def test_drop_removes_one_object_and_keeps_the_rest(seed):
    labels = squares()
    out = perturb_labels(labels, np.random.default_rng(seed), **{**NONE, "n_drop": 1})
    (gone,) = set(np.unique(labels)) - set(np.unique(out))
    assert np.array_equal(out, np.where(labels == gone, 0, labels))


@pytest.mark.parametrize("seed", range(3))
def test_erode_and_dilate_change_one_object_by_one_pixel(seed):
    labels = squares()
    labels[labels <= 2] = 0  # keep only the isolated squares 3 (6 px), 4 (8 px), 5 (4 px)
    sides = {3: 6, 4: 8, 5: 4}
    eroded = perturb_labels(labels, np.random.default_rng(seed), **{**NONE, "n_erode": 1})
    changed = [k for k in sides if (eroded == k).sum() != (labels == k).sum()]
    assert len(changed) == 1
    assert (eroded == changed[0]).sum() == (sides[changed[0]] - 2) ** 2
    dilated = perturb_labels(labels, np.random.default_rng(seed), **{**NONE, "n_dilate": 1})
    changed = [k for k in sides if (dilated == k).sum() != (labels == k).sum()]
    assert len(changed) == 1
    side = sides[changed[0]]
    assert (dilated == changed[0]).sum() == side ** 2 + 4 * side  # a cross grows each face by 1
    assert np.all(dilated[labels > 0] == labels[labels > 0])


def test_dilation_only_grows_into_background():
    labels = squares()
    for seed in range(5):
        out = perturb_labels(labels, np.random.default_rng(seed), **{**NONE, "n_dilate": 5})
        assert np.all(out[labels > 0] == labels[labels > 0])


def test_spurious_object_is_new_and_apart_from_the_others():
    labels = squares()
    out = perturb_labels(labels, np.random.default_rng(1), **{**NONE, "n_spurious": 1},
                         next_id=50)
    assert np.array_equal(out[out != 50], labels[out != 50])
    assert np.all(labels[out == 50] == 0)
    area = (out == 50).sum()
    radius = np.median(np.sqrt(np.array([36, 36, 36, 64, 16]) / np.pi))
    assert abs(area - np.pi * radius ** 2) < 2 * np.pi * radius + 4
    assert not any(50 in pair for pair in touching_pairs(out).tolist())


def test_perturb_works_in_3d():
    labels = np.zeros((10, 20, 20), dtype=np.uint16)
    labels[2:6, 2:8, 2:8] = 1
    labels[2:6, 2:8, 8:14] = 2
    out = perturb_labels(labels, np.random.default_rng(0), **{**NONE, "n_merge": 1})
    assert set(np.unique(out)) == {0, 1}


def test_track_table_splits_gaps_and_reattaches_children():
    def frame(*ids):
        out = np.zeros((4, 4), dtype=np.uint16)
        for i in ids:
            out[i - 1, i - 1] = i
        return out

    # track 1 at frames 0 and 2 (gap at 1); its child 2 appears at frame 3; 4 spans 0..3
    masks = {0: frame(1, 4), 1: frame(4), 2: frame(1, 4), 3: frame(2, 4)}
    out, table = track_table(masks, {2: 1})
    assert table.tolist() == [[1, 0, 0, 0], [2, 3, 3, 5], [4, 0, 3, 0], [5, 2, 2, 1]]
    assert out[2][0, 0] == 5 and out[0][0, 0] == 1 and masks[2][0, 0] == 1


def test_track_table_drops_a_parent_that_does_not_end_before_the_child():
    masks = {0: np.array([[1, 0]]), 1: np.array([[1, 2]])}
    _, table = track_table(masks, {2: 1})
    assert table.tolist() == [[1, 0, 1, 0], [2, 1, 1, 0]]
