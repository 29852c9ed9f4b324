"""Frame-to-frame links on hand-built frames: costs by hand, the gate, global optimality."""
import numpy as np
import pytest

from microseg.metrics.overlap import overlap_table
from microseg.track import TrackConfig, link_frames, object_features
from microseg.track.linking import candidate_pairs, gate_distance


def squares(shape, corners, side=4):
    labels = np.zeros(shape, np.uint16)
    for label, (y, x) in corners.items():
        labels[y:y + side, x:x + side] = label
    return labels


def links_of(a, b, config, **kwargs):
    fa, fb = object_features(a), object_features(b)
    links = link_frames(fa, fb, overlap_table(a, b), config, **kwargs)
    return {int(fa.ids[i]): int(fb.ids[j]) for i, j in zip(links.prev, links.curr)}, links


def test_link_cost_by_hand():
    a = squares((20, 30), {1: (5, 5)})
    b = squares((20, 30), {4: (5, 7)})  # moved 2 px: 8 shared pixels of 24 → IoU 1/3
    found, links = links_of(a, b, TrackConfig(max_distance=10))
    assert found == {1: 4}
    assert links.cost.tolist() == pytest.approx([(1 - 1 / 3) + 2 / 10])


def test_gate_makes_births_and_deaths():
    a = squares((20, 60), {1: (5, 5)})
    b = squares((20, 60), {2: (5, 25)})  # 20 px away
    assert links_of(a, b, TrackConfig(max_distance=10))[0] == {}
    assert links_of(a, b, TrackConfig(max_distance=25))[0] == {1: 2}


def test_global_assignment_not_nearest_neighbour():
    # Both objects move 6 px right; the nearest earlier object of the new one at x = 16 is the
    # one at x = 20, but linking them would leave the others unlinked.
    a = squares((10, 40), {1: (3, 10), 2: (3, 20)}, side=2)
    b = squares((10, 40), {7: (3, 16), 8: (3, 26)}, side=2)
    assert links_of(a, b, TrackConfig(max_distance=10))[0] == {1: 7, 2: 8}


def test_overlapping_objects_are_candidates_beyond_the_gate():
    a = squares((40, 40), {1: (5, 5)}, side=20)
    b = squares((40, 40), {3: (5, 8)}, side=20)
    fa, fb = object_features(a), object_features(b)
    pairs = candidate_pairs(fa, fb, overlap_table(a, b), gate=1.0)
    assert pairs.prev.tolist() == [0] and pairs.iou[0] == pytest.approx(340 / 460)
    assert links_of(a, b, TrackConfig(max_distance=1))[0] == {1: 3}


def test_allowed_masks_restrict_links():
    a = squares((10, 40), {1: (3, 10), 2: (3, 20)})
    b = squares((10, 40), {5: (3, 10), 6: (3, 20)})
    found, _ = links_of(a, b, TrackConfig(max_distance=5),
                        prev_allowed=np.array([False, True]), curr_allowed=np.array([True, True]))
    assert found == {2: 6}


def test_automatic_gate_is_twice_the_median_diameter():
    a = squares((30, 30), {1: (2, 2), 2: (10, 10)})
    fa = object_features(a)
    assert gate_distance(fa, fa, TrackConfig()) == pytest.approx(2 * 2 * np.sqrt(16 / np.pi))
    assert gate_distance(fa, fa, TrackConfig(max_distance=7)) == 7


def test_intensity_and_size_terms():
    a = squares((10, 40), {1: (3, 10)})
    b = squares((10, 40), {2: (3, 10)})
    b[3:7, 14:18] = 2  # twice the size, same place: IoU 1/2, centroid 2 px away
    fa = object_features(a, a * 10.0)
    fb = object_features(b, (b > 0) * 20.0)  # twice as bright: |20 − 10| / 20
    links = link_frames(fa, fb, overlap_table(a, b), TrackConfig(max_distance=10))
    aspect = np.sqrt((8 ** 2 - 1) / (4 ** 2 - 1))  # 4 × 8 against a square
    expected = 0.5 + 2 / 10 + 0.5 * np.log(2) + 0.25 * np.log(aspect) + 0.25 * 0.5
    assert links.cost.tolist() == pytest.approx([expected])
