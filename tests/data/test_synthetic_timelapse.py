"""Synthetic time-lapse: tracking ground truth consistent with the label images."""
import numpy as np
import pytest
from scipy import ndimage

from microseg.data import synthetic
from microseg.io.ctc import check_tracks, write_ctc_result, write_ctc_sequence

PARAMS = dict(shape=(96, 96), n_frames=12, n_cells=6, diameter=12, division=0.35, min_age=2)


@pytest.fixture(scope="module")
def movie():
    return synthetic.timelapse(7, **PARAMS)


def frames_present(labels):
    present = {}
    for t, frame in enumerate(labels):
        for i in np.unique(frame[frame > 0]):
            present.setdefault(int(i), []).append(t)
    return present


def test_shapes_and_dtypes(movie):
    assert movie.images.shape == movie.labels.shape == movie.markers.shape == (12, 96, 96)
    assert movie.images.dtype == np.uint16 and movie.labels.dtype == np.uint16
    check_tracks(movie.tracks)


def test_track_begin_and_end_match_the_label_images(movie):
    present = frames_present(movie.labels)
    table = {int(l): (int(b), int(e), int(p)) for l, b, e, p in movie.tracks}
    assert set(present) == set(table)
    for label, frames in present.items():
        begin, end, _ = table[label]
        assert frames == list(range(begin, end + 1)), f"track {label} has gaps or wrong B/E"


def test_markers_hold_exactly_the_cells_of_each_frame(movie):
    for t in range(len(movie.labels)):
        markers, labels = movie.markers[t], movie.labels[t]
        assert set(np.unique(markers)) == set(np.unique(labels))
        assert np.all(labels[markers > 0] == markers[markers > 0])
        sizes = np.bincount(markers.ravel())[np.unique(markers[markers > 0])]
        assert np.all(sizes <= 13)  # a disk of radius 2 px has 13 pixels


def test_divisions_have_two_daughters_with_the_mother_as_parent(movie):
    table = {int(l): (int(b), int(e), int(p)) for l, b, e, p in movie.tracks}
    parents = [p for _, _, p in table.values() if p]
    assert parents, "the parameters should produce divisions"
    for mother in set(parents):
        daughters = [l for l, (_, _, p) in table.items() if p == mother]
        assert len(daughters) == 2
        mother_end = table[mother][1]
        last = ndimage.center_of_mass(movie.labels[mother_end] == mother)
        for d in daughters:
            begin = table[d][0]
            assert begin == mother_end + 1
            assert not np.any(movie.labels[begin:] == mother)
            first = ndimage.center_of_mass(movie.labels[begin] == d)
            assert np.hypot(*np.subtract(first, last)) < 2 * PARAMS["diameter"]


def test_every_cell_is_one_piece_and_brighter_than_background(movie):
    for frame in movie.labels:
        for i in np.unique(frame[frame > 0]):
            assert ndimage.label(frame == i)[1] == 1
    assert movie.images[movie.labels > 0].mean() > 2 * movie.images[movie.labels == 0].mean()


def test_every_frame_differs_from_the_one_before(movie):
    for t in range(1, len(movie.labels)):
        assert not np.array_equal(movie.labels[t], movie.labels[t - 1])


def test_cells_move(movie):
    table = {int(l): (int(b), int(e)) for l, b, e, _ in movie.tracks}
    shifts = []
    for label, (begin, end) in table.items():
        if end > begin:
            a = ndimage.center_of_mass(movie.labels[begin] == label)
            b = ndimage.center_of_mass(movie.labels[end] == label)
            shifts.append(np.hypot(*np.subtract(a, b)))
    assert np.max(shifts) > 3.0


def test_dense_seg_is_every_cell_of_every_frame(movie):
    assert sorted(movie.seg) == list(range(12))
    assert all(np.array_equal(movie.seg[t], movie.labels[t]) for t in movie.seg)


def test_sparse_seg_leaves_out_a_fraction_of_cells():
    movie = synthetic.timelapse(1, **{**PARAMS, "sparse": 0.5, "seg_every": 3})
    assert sorted(movie.seg) == [0, 3, 6, 9]
    for t, seg in movie.seg.items():
        n = len(np.unique(movie.labels[t])) - 1
        kept = np.unique(seg[seg > 0])
        assert len(kept) == n - n // 2
        assert np.array_equal(seg, np.where(np.isin(movie.labels[t], kept), movie.labels[t], 0))


def test_mask_markers_are_the_full_cells():
    movie = synthetic.timelapse(2, **{**PARAMS, "markers": "mask", "n_frames": 3})
    assert np.array_equal(movie.markers, movie.labels)


def evaluate(res_dir, gt_dir):
    from ctc_metrics.scripts.evaluate import evaluate_sequence

    return evaluate_sequence(str(res_dir), str(gt_dir), metrics=["Valid", "SEG", "TRA"], threads=1)


def test_ground_truth_as_result_scores_perfectly_with_ctc_metrics(movie, tmp_path):
    write_ctc_sequence(tmp_path, 1, list(movie.images), movie.seg, dict(enumerate(movie.markers)),
                       movie.tracks)
    write_ctc_result(tmp_path / "01_RES", dict(enumerate(movie.labels)), movie.tracks)
    scores = evaluate(tmp_path / "01_RES", tmp_path / "01_GT")
    assert scores["Valid"] == 1
    assert scores["SEG"] == pytest.approx(1.0)
    assert scores["TRA"] == pytest.approx(1.0)


def test_perturbed_result_is_valid_and_imperfect(movie, tmp_path):
    masks, tracks = synthetic.perturb_sequence(movie.labels, movie.tracks,
                                               np.random.default_rng(0), p_drop=0.5)
    write_ctc_sequence(tmp_path, 1, list(movie.images), movie.seg, dict(enumerate(movie.markers)),
                       movie.tracks)
    write_ctc_result(tmp_path / "01_RES", masks, tracks)
    scores = evaluate(tmp_path / "01_RES", tmp_path / "01_GT")
    assert scores["Valid"] == 1
    assert 0.5 < scores["SEG"] < 1.0 and 0.5 < scores["TRA"] < 1.0
