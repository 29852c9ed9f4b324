"""CTC lineage rules: gaps split tracks, parents are the last piece, clipping; checked by hand and
with py-ctcmetrics' own validity check."""
import warnings

import numpy as np
import pytest

from microseg.track import clip_tracks, ctc_lineage, track_table


def presence(*frames):
    return {t: np.array(ids, np.int64) for t, ids in enumerate(frames)}


def test_gap_gives_a_new_track_whose_parent_is_the_piece_before():
    labels, table = ctc_lineage(presence([3], [], [3], [3]), {})
    assert table.tolist() == [[3, 0, 0, 0], [4, 2, 3, 3]]
    assert [labels[t].tolist() for t in range(4)] == [[3], [], [4], [4]]


def test_daughters_take_the_last_piece_of_their_mother():
    # identity 1 at frames 0 and 2 (gap), daughters 2 and 5 from frame 3
    labels, table = ctc_lineage(presence([1], [], [1], [2, 5]), {2: 1, 5: 1})
    assert table.tolist() == [[1, 0, 0, 0], [2, 3, 3, 6], [5, 3, 3, 6], [6, 2, 2, 1]]
    assert labels[2].tolist() == [6]


def test_parent_overlapping_the_child_in_time_is_dropped():
    _, table = ctc_lineage(presence([1], [1, 2]), {2: 1})
    assert table.tolist() == [[1, 0, 1, 0], [2, 1, 1, 0]]


def test_new_pieces_are_numbered_by_id_then_time():
    _, table = ctc_lineage(presence([2, 7], [], [2, 7], [], [2]), {})
    assert table.tolist() == [[2, 0, 0, 0], [7, 0, 0, 0], [8, 2, 2, 2], [9, 4, 4, 8],
                              [10, 2, 2, 7]]


@pytest.mark.parametrize("seed", range(5))
def test_random_identities_give_a_valid_ctc_result(seed):
    from ctc_metrics.metrics.validation.valid import valid

    rng = np.random.default_rng(seed)
    frames = [np.flatnonzero(rng.random(12) < 0.6) + 1 for _ in range(15)]
    parents = {int(i): int(rng.integers(0, 13)) for i in range(1, 13)}
    labels, table = ctc_lineage(dict(enumerate(frames)), parents)
    for t, ids in enumerate(frames):
        assert labels[t].size == ids.size and len(set(labels[t].tolist())) == ids.size
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # py-ctcmetrics warns about every violation
        assert valid([f"mask{t:03d}.tif" for t in range(15)], table,
                     [labels[t].tolist() for t in range(15)]) == 1


def test_the_synthetic_perturbation_uses_this_implementation():
    # track_table's own cases are tested with the perturbation (tests/data)
    from microseg.data.synthetic import perturb

    assert perturb.track_table is track_table


def test_clip_tracks():
    tracks = np.array([[1, 0, 4, 0], [2, 5, 9, 1], [3, 5, 9, 1], [4, 10, 12, 2], [5, 2, 6, 0]])
    assert clip_tracks(tracks, 5, 10).tolist() == [[2, 5, 9, 0], [3, 5, 9, 0], [4, 10, 10, 2],
                                                   [5, 5, 6, 0]]
    assert clip_tracks(tracks, 20, 30).shape == (0, 4)
