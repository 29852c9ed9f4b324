"""3-class maps → instances: a target built from known labels maps back to them."""
import numpy as np
import pytest
from skimage.draw import disk
from skimage.metrics import variation_of_information
from skimage.morphology import ball
from skimage.segmentation import expand_labels
from scipy import ndimage as ndi

from microseg.errors import ConfigError, InputError
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


def ndi_smooth(noise):
    """Blobby probabilities in [0, 1] from white noise."""
    smooth = ndi.gaussian_filter(noise, 4)
    return (smooth - smooth.min()) / (smooth.max() - smooth.min())


def bridged_disks_probabilities():
    """Two touching disks (labels 1, 2) as 3-class probabilities whose cell probability dips to
    0.55 on the contact line only: the argmax calls the contact cell, so the disks merge."""
    labels = np.zeros((40, 70), np.uint16)
    labels[disk((20, 22), 12, shape=labels.shape)] = 1
    labels[disk((20, 45), 12, shape=labels.shape)] = 2
    labels[(labels == 0) & (np.arange(70) >= 33) & (np.arange(70) <= 34)
           & ((np.arange(40) >= 15) & (np.arange(40) <= 25))[:, None]] = 1
    cell = np.where(labels > 0, 0.9, 0.05)
    cell[:, 33:35] = np.where(labels[:, 33:35] > 0, 0.55, cell[:, 33:35])
    background = np.where(labels > 0, 0.05, 0.9)
    probs = np.stack([background, 1 - background - cell, cell]).astype(np.float32)
    return labels, probs


def test_seed_threshold_splits_a_weak_contact():
    labels, probs = bridged_disks_probabilities()
    merged = three_class_to_instances(probs, grow=False, min_size=0)
    assert merged.max() == 1
    split = three_class_to_instances(probs, grow=False, min_size=0, seed_threshold=0.7)
    assert split.max() == 2
    # each part is one disk, up to the two contact columns shared out between them
    truth = labels.copy()
    truth[:, 33:35] = 0
    result = match(truth, np.where(truth > 0, split, 0), iou=0.9)
    assert result.tp == 2 and result.fp == 0 and result.fn == 0
    assert np.array_equal(split > 0, labels > 0)


def test_seed_threshold_equal_to_cell_threshold_gives_the_mask_components():
    rng = np.random.default_rng(3)
    cell = ndi_smooth(rng.random((60, 80)))
    probs = np.stack([1 - cell, np.zeros_like(cell), cell]).astype(np.float32)
    expected, _ = ndi.label(cell > 0.5)
    result = three_class_to_instances(probs, grow=False, min_size=0, fill_holes=False,
                                      seed_threshold=0.5, cell_threshold=0.5)
    assert expected.max() > 3
    assert same_partition(result, expected)


def test_unconfident_objects_without_a_seed_are_dropped():
    labels = separated_disks()
    cell = np.where(labels > 0, 0.9, 0.05)
    cell[labels == 21] = 0.6                     # never above the seed threshold
    probs = np.stack([1 - cell, np.zeros_like(cell), cell]).astype(np.float32)
    result = three_class_to_instances(probs, grow=False, min_size=0, seed_threshold=0.7)
    kept = labels * (labels != 21)
    assert same_partition(result, kept)


def test_seed_threshold_errors():
    labels, probs = bridged_disks_probabilities()
    with pytest.raises(InputError, match="probabilities"):
        three_class_to_instances(ThreeClass()(labels), seed_threshold=0.7)
    with pytest.raises(ConfigError, match="cell_threshold"):
        three_class_to_instances(probs, seed_threshold=0.4, cell_threshold=0.5)


def test_min_confidence_drops_faint_objects():
    labels = separated_disks()
    cell = np.where(labels > 0, 0.95, 0.05)
    cell[labels == 14] = 0.8                     # a faint object: argmax cell, peak 0.8
    probs = np.stack([1 - cell, np.zeros_like(cell), cell]).astype(np.float32)
    everything = three_class_to_instances(probs, grow=False, min_size=0)
    assert same_partition(everything, labels)
    assert same_partition(three_class_to_instances(probs, grow=False, min_size=0,
                                                   min_confidence=0.75), labels)
    confident = three_class_to_instances(probs, grow=False, min_size=0, min_confidence=0.85)
    assert same_partition(confident, labels * (labels != 14))


def test_an_unconfident_seed_leaves_its_pixels_to_a_confident_neighbour():
    labels, probs = bridged_disks_probabilities()
    probs[2] = np.where(labels == 2, 0.75, probs[2])   # seed of disk 2 peaks at 0.75
    result = three_class_to_instances(probs, grow=False, min_size=0, seed_threshold=0.7,
                                      min_confidence=0.8)
    assert result.max() == 1 and np.array_equal(result > 0, labels > 0)


def test_min_confidence_errors():
    labels, probs = bridged_disks_probabilities()
    with pytest.raises(InputError, match="probabilities"):
        three_class_to_instances(ThreeClass()(labels), min_confidence=0.9)
    with pytest.raises(ConfigError, match="min_confidence"):
        three_class_to_instances(probs, min_confidence=1.5)


def test_argmax3_equals_numpy_argmax_including_ties():
    from microseg.post.three_class import argmax3

    rng = np.random.default_rng(3)
    probs = rng.integers(0, 3, size=(3, 40, 30)).astype(np.float32)   # many exact ties
    np.testing.assert_array_equal(argmax3(probs), np.argmax(probs, axis=0))
    probs = rng.random((3, 6, 20, 20)).astype(np.float32)
    np.testing.assert_array_equal(argmax3(probs), np.argmax(probs, axis=0))


def _probabilities_of_discs(shape, discs, peaks=None):
    """3-class probabilities: cell probability ``peak`` (default 1) at each disc centre falling
    linearly to 0.55 at its rim (so touching discs merge in the argmax), background elsewhere."""
    cell = np.zeros(shape, np.float32)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    for ((cy, cx), r), peak in zip(discs, peaks or [1.0] * len(discs)):
        d = np.hypot(yy - cy, xx - cx) / r
        cell = np.maximum(cell, np.where(d <= 1, peak - (peak - 0.55) * d, 0.0))
    background = np.where(cell > 0, 0.0, 1.0).astype(np.float32)
    boundary = np.where(cell > 0, (1.0 - cell) / 2, 0.0).astype(np.float32)
    return np.stack([background, boundary, np.where(cell > 0, cell - boundary, 0.0)])


def test_split_above_splits_only_components_large_for_the_image():
    singles = [((10 + 20 * i, 12), 6) for i in range(4)]
    pair = [((40, 40), 6), ((40, 51), 6)]                 # touching: one argmax component
    big = [((80, 40), 12)]                                 # 4x a single's area, one seed
    probs = _probabilities_of_discs((100, 70), singles + pair + big)
    common = dict(grow=False, min_size=5, fill_holes=False, seed_threshold=0.75)
    whole = three_class_to_instances(probs, grow=False, min_size=5, fill_holes=False)
    assert whole.max() == 6                                # 4 singles, the pair, the big one
    split = three_class_to_instances(probs, split_above=1.5, **common)
    assert split.max() == 7                                # the pair split, the big one kept
    pair_pixels = split[40, 34:58]
    assert len(set(pair_pixels[pair_pixels > 0])) == 2
    # at 10x the median size no component counts as large: nothing is split
    assert three_class_to_instances(probs, split_above=10, **common).max() == 6
    np.testing.assert_array_equal(                         # no seeds: no effect
        three_class_to_instances(probs, grow=False, min_size=5, fill_holes=False, split_above=2),
        whole)


def test_split_above_ignores_unconfident_seeds_and_leaves_background_alone():
    singles = [((10 + 20 * i, 12), 6) for i in range(5)]
    pairs = [((y, x), 6) for y in (20, 50, 80) for x in (40, 51)]   # faint left, bright right
    probs = _probabilities_of_discs((100, 70), singles + pairs, [1.0] * 5 + [0.8, 1.0] * 3)
    labels = three_class_to_instances(probs, grow=False, min_size=5, fill_holes=False,
                                      seed_threshold=0.6, min_confidence=0.9, split_above=1.5)
    assert labels.max() == 8                  # each pair has one confident seed: kept whole
    np.testing.assert_array_equal(labels > 0, probs[2] > np.maximum(probs[0], probs[1]))
