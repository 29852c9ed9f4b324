import numpy as np
import pytest
from skimage.draw import disk

from microseg.errors import InputError
from microseg.post.stitch3d import link_slices, stitch_slices


def _disc(shape, centre, radius, value=1):
    plane = np.zeros(shape, np.uint16)
    plane[disk(centre, radius, shape=shape)] = value
    return plane


def test_overlapping_discs_in_consecutive_slices_are_one_object():
    stack = np.stack([_disc((40, 40), (20, 20), 8, 3), _disc((40, 40), (22, 21), 8, 7)])
    labels = stitch_slices(stack)
    assert labels.max() == 1
    np.testing.assert_array_equal(labels > 0, stack > 0)


def test_disjoint_discs_in_consecutive_slices_are_two_objects():
    stack = np.stack([_disc((40, 40), (10, 10), 6), _disc((40, 40), (30, 30), 6)])
    labels = stitch_slices(stack)
    assert labels.max() == 2
    assert labels[0, 10, 10] != labels[1, 30, 30]


def test_chains_run_through_the_stack_and_a_gap_breaks_them():
    planes = [_disc((30, 30), (15, 15), 6, value=z + 1) for z in range(3)]
    planes.append(np.zeros((30, 30), np.uint16))
    planes.append(_disc((30, 30), (15, 15), 6, value=9))
    labels = stitch_slices(np.stack(planes))
    assert labels.max() == 2
    assert len({labels[z, 15, 15] for z in range(3)}) == 1
    assert labels[4, 15, 15] != labels[0, 15, 15]


def test_links_are_one_to_one_by_best_iou():
    lower = np.zeros((40, 40), np.uint16)
    lower[5:35, 5:20] = 1                    # one wide cell …
    lower[5:35, 20:35] = 2
    upper = np.zeros((40, 40), np.uint16)
    upper[5:35, 5:35] = 5                    # … under both halves of one cell above
    pairs = link_slices(lower, upper, iou_threshold=0.3)
    assert len(pairs) == 1 and pairs[0, 1] == 5
    labels = stitch_slices(np.stack([lower, upper]))
    assert labels.max() == 2                 # the unmatched half stays its own object


def test_iou_threshold_decides_a_link():
    lower = _disc((40, 40), (20, 14), 8)
    upper = _disc((40, 40), (20, 26), 8)     # IoU of two discs 12 px apart, radius 8 ≈ 0.07
    inter = np.logical_and(lower, upper).sum()
    iou = inter / (lower.astype(bool).sum() + upper.astype(bool).sum() - inter)
    assert stitch_slices(np.stack([lower, upper]), iou_threshold=iou * 0.9).max() == 1
    assert stitch_slices(np.stack([lower, upper]), iou_threshold=iou * 1.1).max() == 2


def test_bad_input_is_refused():
    with pytest.raises(InputError):
        stitch_slices(np.zeros((4, 4)))
    with pytest.raises(InputError):
        stitch_slices(np.zeros((2, 4, 4), np.uint16), iou_threshold=0)
