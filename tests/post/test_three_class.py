"""3-class maps → instances: a target built from known labels maps back to them."""
import numpy as np
import pytest
from skimage.draw import disk
from skimage.metrics import variation_of_information
from skimage.morphology import ball
from skimage.segmentation import expand_labels

from microseg.errors import InputError
from microseg.metrics import match
from microseg.post.three_class import three_class_to_instances
from microseg.targets import ThreeClass


def same_partition(a, b):
    """Identical segmentations up to the label ids (zero split and merge information)."""
    return np.allclose(variation_of_information(a, b), 0) and np.array_equal(a == 0, b == 0)


def separated_disks():
    labels = np.zeros((70, 90), np.uint16)
    for i, (centre, radius) in enumerate([((15, 15), 9), ((15, 50), 6), ((50, 20), 12),
                                          ((45, 62), 10), ((66, 88), 5)], start=1):
        labels[disk(centre, radius, shape=labels.shape)] = i * 7   # the last is cut by the border
    return labels


def touching_blocks():
    labels = np.zeros((40, 60), np.uint16)
    labels[5:30, 5:25] = 1
    labels[5:30, 25:45] = 2
    labels[10:25, 45:55] = 3
    return labels


def test_separated_cells_map_back_exactly():
    labels = separated_disks()
    classes = ThreeClass()(labels)
    for grow in (True, False):
        result = three_class_to_instances(classes, grow=grow)
        assert same_partition(result, labels)
        assert result.dtype == np.uint16 and set(np.unique(result)) == set(range(6))


def test_separated_cells_in_3d_map_back_exactly():
    labels = np.zeros((16, 40, 50), np.uint16)
    labels[3:12, 4:13, 4:13] = ball(4) * 2
    labels[2:13, 20:31, 30:41] = ball(5) * 9
    result = three_class_to_instances(ThreeClass()(labels))
    assert same_partition(result, labels)


def test_touching_cells_get_their_shared_rim_back():
    labels = touching_blocks()
    classes = ThreeClass()(labels)
    shrunk = three_class_to_instances(classes, grow=False)
    grown = three_class_to_instances(classes, grow=True)
    assert match(labels, shrunk, iou=0.5).tp == 3
    assert match(labels, shrunk, iou=0.9).tp < 3          # without growth the rims are missing
    assert match(labels, grown, iou=0.9).tp == 3
    # every pixel of the original cells is recovered; only the contact ends may bulge out a bit
    assert np.all(grown[labels > 0] > 0)
    assert np.count_nonzero(grown[labels == 0]) <= 8


def test_crowded_cells_are_recovered_closely():
    rng = np.random.default_rng(1)
    seeds = np.zeros((128, 128), np.uint16)
    seeds[tuple(rng.integers(0, 128, (2, 40)))] = np.arange(1, 41)
    labels = expand_labels(seeds, 9)
    n = len(np.unique(labels)) - 1
    matching = match(labels, three_class_to_instances(ThreeClass()(labels), min_size=0), iou=0.5)
    assert matching.tp == n and matching.fp == 0
    assert matching.mean_matched_iou > 0.95


def test_probabilities_give_the_same_result_as_their_argmax():
    labels = touching_blocks()
    classes = ThreeClass()(labels)
    rng = np.random.default_rng(0)
    one_hot = np.eye(3, dtype=np.float32)[classes].transpose(2, 0, 1)
    probs = 0.6 * one_hot + 0.2 * rng.random((3, *labels.shape), dtype=np.float32)
    np.testing.assert_array_equal(three_class_to_instances(probs),
                                  three_class_to_instances(classes))


def test_small_objects_removed_and_holes_filled():
    classes = np.zeros((30, 30), np.int64)
    classes[2:15, 2:15] = 2
    classes[6:9, 6:9] = 1          # boundary pixels inside one cell: a hole
    classes[25:27, 25:27] = 2      # 4 pixels
    result = three_class_to_instances(classes, min_size=5)
    assert np.all(result[2:15, 2:15] == 1) and result.max() == 1
    kept = three_class_to_instances(classes, min_size=0, fill_holes=False)
    assert kept.max() == 2 and np.all(kept[6:9, 6:9] == 0)


def test_no_cells_gives_empty_labels():
    assert not three_class_to_instances(np.ones((8, 8), np.int64)).any()


@pytest.mark.parametrize("bad, reason", [
    (np.zeros((2, 5, 5), np.float32), "3, Y, X"),
    (np.full((5, 5), 3, np.int64), "0, 1, 2"),
    (np.zeros((5, 5), bool), "integers"),
    (np.zeros(5, np.int64), "shape"),
])
def test_bad_input(bad, reason):
    with pytest.raises(InputError, match=reason):
        three_class_to_instances(bad)
