"""Cross-check with py-ctcmetrics: results whose tracking errors are built by hand lower TRA by
the AOGM amount computed by hand (CTC weights: FP 1, FN 10, NS 5, ED 1, EA 1.5, EC 1), and the
tracker's own results score as expected."""
import numpy as np
import pytest

from microseg.io.ctc import write_ctc_result
from microseg.metrics import ctc_tracking_scores
from microseg.track import TrackConfig, track, write_tracking

pytest.importorskip("ctc_metrics")


def score(ctc_movie, name, masks, tracks):
    res = write_ctc_result(ctc_movie / name, masks, tracks)
    return ctc_tracking_scores(res, ctc_movie / "01_GT")


def assert_aogm(scores, aogm0, expected, **counts):
    """``scores`` lower TRA by exactly ``expected`` AOGM with these error counts."""
    assert scores["aogm"] == pytest.approx(expected)
    assert scores["tra"] == pytest.approx(1 - expected / aogm0)
    assert {k: scores[f"aogm_{k}"] for k in counts} == counts


def test_ground_truth_scores_one(movie, ctc_movie):
    scores = score(ctc_movie, "gt_RES", dict(enumerate(movie.labels)), movie.tracks)
    assert scores["tra"] == scores["det"] == 1.0


def test_missed_division(movie, ctc_movie, aogm_zero):
    # the mother's track continues as daughter a; daughter b starts without a parent: the
    # mother → a edge has the wrong semantics (EC) and the mother → b edge is missing (EA)
    tracks = movie.tracks
    mother = int(tracks[tracks[:, 3] > 0][0, 3])
    a, b = tracks[tracks[:, 3] == mother][:, 0]
    masks = {t: np.where(m == a, mother, m) for t, m in enumerate(movie.labels)}
    wrong = tracks.copy()
    wrong[wrong[:, 0] == mother, 2] = tracks[tracks[:, 0] == a, 2]
    wrong[wrong[:, 3] == a, 3] = mother
    wrong[wrong[:, 0] == b, 3] = 0
    wrong = wrong[wrong[:, 0] != a]
    scores = score(ctc_movie, "missed_RES", masks, wrong)
    assert_aogm(scores, aogm_zero(movie.markers, tracks), 1.0 + 1.5, ec=1, ea=1, ed=0, fp=0)


def test_swapped_identity(movie, ctc_movie, aogm_zero):
    # two tracks that run to the end without children swap labels from frame 8 on: two
    # wrong edges (ED) and two missing ones (EA)
    tracks, last, t = movie.tracks, len(movie.labels) - 1, 8
    free = tracks[(tracks[:, 1] < t) & (tracks[:, 2] == last) & ~np.isin(tracks[:, 0],
                                                                          tracks[:, 3])]
    x, y = free[:2, 0]
    masks = {}
    for k, m in enumerate(movie.labels):
        masks[k] = m if k < t else np.select([m == x, m == y], [y, x], m)
    scores = score(ctc_movie, "swap_RES", masks, tracks)
    assert_aogm(scores, aogm_zero(movie.markers, tracks), 2 * 1.0 + 2 * 1.5, ed=2, ea=2, fp=0)


def false_split(movie, t):
    """Frame ``t`` of the movie with its largest cell present before and after ``t`` cut in
    two: the piece beyond 3 px right of the cell's TRA marker (which it keeps whole) becomes a
    new object. Returns the frame, the cell and the new id."""
    frame = movie.labels[t].astype(np.int64)
    tracks = movie.tracks
    ids, sizes = np.unique(frame[frame > 0], return_counts=True)
    through = np.isin(ids, tracks[(tracks[:, 1] < t) & (tracks[:, 2] > t), 0])
    cell = int(ids[through][np.argmax(sizes[through])])
    marker_x = np.nonzero(movie.markers[t] == cell)[1].max()
    new = int(movie.tracks[:, 0].max()) + 1
    piece = (frame == cell) & (np.arange(frame.shape[1])[None, :] > marker_x + 3)
    assert piece.sum() >= 8
    frame[piece] = new
    return frame, cell, new


def test_false_split(movie, ctc_movie, aogm_zero):
    # the split-off piece is a one-frame track that covers no marker: one false positive
    frame, _, new = false_split(movie, 6)
    masks = {k: (frame if k == 6 else m) for k, m in enumerate(movie.labels)}
    tracks = np.vstack([movie.tracks, [new, 6, 6, 0]])
    scores = score(ctc_movie, "split_RES", masks, tracks)
    assert_aogm(scores, aogm_zero(movie.markers, movie.tracks), 1.0, fp=1, ed=0, ea=0, ec=0)


def test_tracker_reproduces_the_ground_truth(movie, ctc_movie, shuffle_ids, tmp_path):
    shuffled = shuffle_ids(movie.labels, np.random.default_rng(7))
    result = track(shuffled, movie.images)
    res = write_tracking(tmp_path / "01_RES", result, shuffled)
    scores = ctc_tracking_scores(res, ctc_movie / "01_GT")
    assert scores["tra"] == scores["det"] == 1.0


def test_tracker_without_divisions_misses_each(movie, ctc_movie, aogm_zero, tmp_path):
    result = track(movie.labels, movie.images, TrackConfig(divisions=False))
    res = write_tracking(tmp_path / "01_RES", result, movie.labels)
    n = np.count_nonzero(movie.tracks[:, 3]) // 2
    assert_aogm(ctc_tracking_scores(res, ctc_movie / "01_GT"),
                aogm_zero(movie.markers, movie.tracks), n * (1.0 + 1.5), ec=n, ea=n, ed=0)


def test_tracker_is_not_fooled_by_a_false_split(movie, ctc_movie, aogm_zero, tmp_path):
    # the piece looks like a daughter at frame 6 but is gone at frame 7: the division is undone
    # and only the false positive remains
    frame, _, _ = false_split(movie, 6)
    labels = [frame if k == 6 else m for k, m in enumerate(movie.labels)]
    result = track(labels, movie.images)
    res = write_tracking(tmp_path / "01_RES", result, labels)
    assert_aogm(ctc_tracking_scores(res, ctc_movie / "01_GT"),
                aogm_zero(movie.markers, movie.tracks), 1.0, fp=1, ed=0, ea=0, ec=0)
    kept = track(labels, movie.images, TrackConfig(min_daughter_frames=1))
    assert kept.n_divisions == result.n_divisions + 1
