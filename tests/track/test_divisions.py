"""Division detection on hand-built frames: the cost by hand, true and false divisions."""
import numpy as np
import pytest

from microseg.metrics.overlap import overlap_table
from microseg.track import TrackConfig, division_costs, find_divisions, link_frames, \
    object_features
from microseg.track.linking import gate_distance

CONFIG = TrackConfig(max_distance=20)


def divide(a, b, config=CONFIG):
    fa, fb = object_features(a), object_features(b)
    links = link_frames(fa, fb, overlap_table(a, b), config)
    found = find_divisions(fa, fb, links, gate_distance(fa, fb, config), config)
    return {int(fa.ids[m]): sorted(fb.ids[d].tolist())
            for m, d in zip(found.mother, found.daughters)}


def test_division_cost_by_hand():
    mother = np.zeros((30, 30), np.uint16)
    mother[10:14, 10:18] = 1                      # 4 × 8, centroid (11.5, 13.5)
    daughters = np.zeros((30, 30), np.uint16)
    daughters[10:14, 10:14] = 1                   # 4 × 4 at (11.5, 11.5)
    daughters[10:14, 14:18] = 2                   # 4 × 4 at (11.5, 15.5)
    fm, fd = object_features(mother), object_features(daughters)
    cost = division_costs(fm, fd, np.array([0]), np.array([0]), np.array([1]))
    # the daughters' centre is the mother's, sizes add up and match: only the reach remains,
    # 2 px / (2 × equivalent radius)
    assert cost.tolist() == pytest.approx([2 / (2 * np.sqrt(32 / np.pi))])
    unbalanced = np.zeros((30, 30), np.uint16)
    unbalanced[10:14, 10:16] = 1                  # 24 px at (11.5, 12.5)
    unbalanced[10:14, 16:18] = 2                  # 8 px at (11.5, 16.5)
    fu = object_features(unbalanced)
    cost = division_costs(fm, fu, np.array([0]), np.array([0]), np.array([1]))
    radius = np.sqrt(32 / np.pi)
    assert cost.tolist() == pytest.approx([0.5 * np.log(3) + 3 / (2 * radius)])


def test_mother_splitting_in_two_is_a_division():
    yy, xx = np.mgrid[:40, :60]
    before = np.zeros((40, 60), np.uint16)
    before[(yy - 20) ** 2 + (xx - 20) ** 2 <= 36] = 5
    before[(yy - 20) ** 2 + (xx - 48) ** 2 <= 25] = 9   # a bystander that just moves
    after = np.zeros((40, 60), np.uint16)
    after[(yy - 20) ** 2 + (xx - 16) ** 2 <= 18] = 3
    after[(yy - 20) ** 2 + (xx - 24) ** 2 <= 18] = 4
    after[(yy - 21) ** 2 + (xx - 48) ** 2 <= 25] = 7
    assert divide(before, after) == {5: [3, 4]}
    assert divide(before, after, TrackConfig(max_distance=20, division_cost=0.1)) == {}


def test_new_cell_beside_a_cell_is_not_a_division():
    before = np.zeros((30, 40), np.uint16)
    before[10:16, 10:16] = 1
    after = before.copy()
    after[10:16, 16:22] = 2  # a whole new cell touching the old one
    assert divide(before, after) == {}


def test_small_fragment_is_not_a_division():
    before = np.zeros((30, 40), np.uint16)
    before[8:18, 8:18] = 1
    after = before.copy()
    after[8:18, 8:17] = 1
    after[12:14, 17:19] = 2  # a 4-pixel fragment split off the edge
    assert divide(before, after) == {}


def test_the_daughter_is_chosen_among_new_objects():
    before = np.zeros((30, 60), np.uint16)
    before[10:14, 10:18] = 1       # a mother that halves
    before[10:14, 30:34] = 2       # a cell that keeps its size
    after = np.zeros((30, 60), np.uint16)
    after[10:14, 10:14] = 5
    after[10:14, 30:34] = 6
    after[10:14, 20:24] = 7        # new, within reach of both cells
    after[10:14, 14:18] = 8        # new, the half that completes mother 1
    assert divide(before, after) == {1: [5, 8]}


def test_no_births_no_divisions():
    frame = np.zeros((10, 10), np.uint16)
    frame[2:5, 2:5] = 1
    assert divide(frame, frame) == {}


def test_undo_short_divisions_by_hand():
    from microseg.track.divisions import undo_short_divisions

    # mother 1 → daughters 2 (lasts) and 3 (one frame); mother 4 → 5 and 6 (both last);
    # daughter 7 of 2 lives one frame but reaches the last frame, so is kept
    identities = [np.array([1, 4]), np.array([2, 3, 5, 6]), np.array([2, 5, 6]),
                  np.array([7, 8, 5, 6])]
    parents = {2: 1, 3: 1, 5: 4, 6: 4, 7: 2, 8: 2}
    divisions = [(1, 2, 3), (4, 5, 6), (2, 7, 8)]
    out, new_parents, undone = undo_short_divisions(identities, parents, divisions, 2)
    assert undone == 1
    assert [i.tolist() for i in out] == [[1, 4], [1, 3, 5, 6], [1, 5, 6], [7, 8, 5, 6]]
    assert new_parents == {5: 4, 6: 4, 7: 1, 8: 1}
    assert undo_short_divisions(identities, parents, divisions, 1)[2] == 0
