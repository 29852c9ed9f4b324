"""Cell Tracking Challenge layout: sequences, GT (full and slice form), track files, results."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile

from microseg.errors import InputError
from microseg.io import CTCSequence, ctc_items, find_sequences, read_ctc_result, read_track_file, \
    write_ctc_result, write_ctc_sequence, write_track_file
from microseg.io.ctc import CTCGroundTruth, index_width
from microseg.io.images import write_image

RNG = np.random.default_rng(3)


def _moving_squares(n_frames=4, shape=(20, 24)):
    """Two squares drifting right; label 1 and 2 throughout, label 3 born at frame 2 from 2."""
    images, masks = [], []
    for t in range(n_frames):
        labels = np.zeros(shape, np.uint16)
        labels[2:7, 2 + t:7 + t] = 1
        labels[10:15, 4 + t:9 + t] = 2
        if t >= 2:
            labels[10:15, 4 + t:9 + t] = 0
            labels[10:13, 14:18] = 3
            labels[13:16, 14:18] = 4
        masks.append(labels)
        images.append((labels > 0).astype(np.uint8) * 200 + RNG.integers(0, 20, shape, np.uint8))
    tracks = np.array([[1, 0, n_frames - 1, 0], [2, 0, 1, 0], [3, 2, n_frames - 1, 2],
                       [4, 2, n_frames - 1, 2]])
    return images, masks, tracks


def test_sequence_round_trip_with_sparse_seg(tmp_path):
    images, masks, tracks = _moving_squares()
    seq_dir = write_ctc_sequence(tmp_path, 1, images, seg={1: masks[1], 3: masks[3]},
                                 tra=dict(enumerate(masks)), tracks=tracks)
    assert seq_dir == tmp_path / "01"
    assert sorted(p.name for p in seq_dir.iterdir()) == ["t000.tif", "t001.tif", "t002.tif",
                                                        "t003.tif"]
    gt_dir = tmp_path / "01_GT"
    assert sorted(p.name for p in (gt_dir / "SEG").iterdir()) == ["man_seg001.tif",
                                                                 "man_seg003.tif"]
    assert (gt_dir / "TRA" / "man_track.txt").read_text().splitlines()[2] == "3 2 3 2"
    with tifffile.TiffFile(seq_dir / "t000.tif") as tif:
        assert tif.pages[0].compression == tifffile.COMPRESSION.LZW

    seq = CTCSequence(seq_dir)
    assert seq.frames == [0, 1, 2, 3] and len(seq) == 4 and seq.silver is None
    assert seq.gt.seg_frames == [1, 3] and seq.gt.tra_frames == [0, 1, 2, 3]
    np.testing.assert_array_equal(seq.gt.tracks, tracks)
    frames = list(seq)
    assert [f.t for f in frames] == [0, 1, 2, 3]
    for t, frame in enumerate(frames):
        np.testing.assert_array_equal(frame.image, images[t])
        np.testing.assert_array_equal(frame.tra, masks[t])
        assert (frame.seg is None) == (t not in (1, 3))
    np.testing.assert_array_equal(frames[3].seg, masks[3])
    assert seq.gt.seg(0) is None and seq.gt.seg_slices(1) == {}


def test_3d_sequence_with_slice_form_gt(tmp_path):
    volume = RNG.integers(0, 255, (5, 8, 9), dtype=np.uint8)
    full = np.zeros((5, 8, 9), np.uint16)
    full[1:4, 2:6, 2:7] = 7
    slice_z2 = np.zeros((8, 9), np.uint16)
    slice_z2[1:5, 1:5] = 4
    seq_dir = write_ctc_sequence(tmp_path, "02", [volume, volume[::-1]], seg={0: full},
                                 seg_slices={1: {2: slice_z2, 4: full[1]}})
    names = sorted(p.name for p in (tmp_path / "02_GT" / "SEG").iterdir())
    assert names == ["man_seg000.tif", "man_seg_001_002.tif", "man_seg_001_004.tif"]
    seq = CTCSequence(seq_dir)
    assert seq.gt.seg_frames == [0, 1] and seq.gt.full_seg_frames == [0]
    assert seq.gt.slice_indices(1) == [2, 4]
    frame = seq.frame(1)
    assert frame.seg is None and sorted(frame.seg_slices) == [2, 4]
    np.testing.assert_array_equal(frame.seg_slices[2], slice_z2)
    np.testing.assert_array_equal(seq.frame(0).seg, full)

    items = ctc_items(tmp_path)
    assert [i.name for i in items] == [f"{tmp_path.name}_02_t000", f"{tmp_path.name}_02_t001_z002",
                                       f"{tmp_path.name}_02_t001_z004"]
    image, labels = items[1].load()
    np.testing.assert_array_equal(image, volume[::-1][2])
    np.testing.assert_array_equal(labels, slice_z2)
    assert items[1].meta["t"] == 1 and items[1].meta["z"] == 2


def test_silver_truth_and_truth_choice(tmp_path):
    images, masks, _ = _moving_squares(2)
    write_ctc_sequence(tmp_path, 1, images, seg={0: masks[0]})
    write_ctc_sequence(tmp_path, 1, images, seg={0: masks[0], 1: masks[1]}, gt_folder="ST")
    seq = CTCSequence(tmp_path / "01")
    assert seq.gt.seg_frames == [0] and seq.silver.seg_frames == [0, 1]
    assert seq.silver.tracks is None
    assert seq.frame(1).seg is None
    np.testing.assert_array_equal(seq.frame(1, truth="silver").seg, masks[1])
    assert len(ctc_items(tmp_path, truth="silver")) == 2
    with pytest.raises(InputError, match="truth must be"):
        seq.frame(0, truth="bronze")


def test_items_carry_group_frame_sequence_range_and_the_ignore_rule(tmp_path):
    images, masks, _ = _moving_squares(3)
    images[0][0, 0] = 250                               # frame 0 has no SEG but sets the maximum
    write_ctc_sequence(tmp_path, 1, images, seg={1: np.where(masks[1] == 1, 1, 0),
                                                 2: masks[2]}, tra=dict(enumerate(masks)))
    write_ctc_sequence(tmp_path, 1, images, seg={0: masks[0], 1: masks[1]}, gt_folder="ST")
    calls = []

    def rule(seg, markers):
        calls.append((seg.copy(), markers.copy()))
        return (markers > 0) & (seg == 0)

    items = ctc_items(tmp_path / "01", truth="gt+silver", ignore=rule)
    assert [(i.position, i.meta["truth"]) for i in items] == [(0, "silver"), (1, "gt"), (2, "gt")]
    assert {i.group for i in items} == {f"{tmp_path.name}_01"}
    assert items[1].meta["path"].endswith("t001.tif") and items[1].meta["t"] == 1
    low = min(int(im.min()) for im in images)
    assert all(i.intensity_range() == (low, 250.0) for i in items)
    ignore = items[1].ignore()                          # cell 2 has a marker but no SEG label
    np.testing.assert_array_equal(ignore, masks[1] == 2)
    np.testing.assert_array_equal(calls[-1][1], masks[1])
    assert not items[0].ignore().any()                  # silver truth, gold TRA markers
    np.testing.assert_array_equal(calls[-1][1], masks[0])
    assert ctc_items(tmp_path / "01")[0].ignore is None
    (tmp_path / "other" / "01").mkdir(parents=True)
    write_image(tmp_path / "other" / "01" / "t000.tif", images[0])
    with pytest.raises(InputError, match="no frame with SEG annotation.*01_GT"):
        ctc_items(tmp_path / "other" / "01")
    with pytest.raises(InputError, match="truth must be"):
        ctc_items(tmp_path, truth="bronze")


def test_find_sequences(tmp_path):
    images, _, _ = _moving_squares(1)
    write_ctc_sequence(tmp_path, 1, images)
    write_ctc_sequence(tmp_path, 2, images)
    (tmp_path / "01_RES").mkdir()
    assert [s.name for s in find_sequences(tmp_path)] == ["01", "02"]
    assert [s.name for s in find_sequences(tmp_path / "02")] == ["02"]
    with pytest.raises(InputError, match="no CTC sequence"):
        find_sequences(tmp_path / "01_RES")


def test_track_file_read_by_hand_written_text(tmp_path):
    (tmp_path / "man_track.txt").write_text("1 0 5 0\n2 6 9 1\n\n3 6 8 1\n")
    np.testing.assert_array_equal(read_track_file(tmp_path / "man_track.txt"),
                                  [[1, 0, 5, 0], [2, 6, 9, 1], [3, 6, 8, 1]])
    (tmp_path / "empty.txt").write_text("")
    assert read_track_file(tmp_path / "empty.txt").shape == (0, 4)


def test_track_file_round_trip_is_read_by_ctc_metrics(tmp_path):
    from ctc_metrics.utils.filesystem import read_tracking_file

    tracks = np.array([[1, 0, 3, 0], [5, 4, 7, 1], [6, 4, 6, 1]])
    write_track_file(tmp_path / "res_track.txt", tracks)
    np.testing.assert_array_equal(read_track_file(tmp_path / "res_track.txt"), tracks)
    np.testing.assert_array_equal(read_tracking_file(str(tmp_path / "res_track.txt")), tracks)


@pytest.mark.parametrize("text, reason", [
    ("1 0 5\n", "line 1: expected 4"),
    ("1 0 5 0\n2 0 -1 0\n", "line 2: expected 4"),
    ("1 0 5 x\n", "line 1"),
    ("1 6 5 0\n", "begin after end"),
    ("1 0 5 0\n1 6 7 0\n", "repeated labels"),
    ("1 0 5 0\n2 6 7 9\n", "parents not listed"),
    ("0 0 5 0\n", "label 0"),
])
def test_bad_track_files(tmp_path, text, reason):
    (tmp_path / "t.txt").write_text(text)
    with pytest.raises(InputError, match=reason):
        read_track_file(tmp_path / "t.txt")


def test_bad_track_table_is_not_written(tmp_path):
    with pytest.raises(InputError, match=r"\(N, 4\)"):
        write_track_file(tmp_path / "t.txt", np.zeros((2, 3), int))
    assert not (tmp_path / "t.txt").exists()


def test_result_round_trip_with_four_digit_frames(tmp_path):
    masks = {0: np.array([[0, 1], [1, 2]]), 1200: np.array([[0, 70000], [0, 0]])}
    res = write_ctc_result(tmp_path / "01_RES", masks, np.array([[1, 0, 0, 0], [2, 0, 0, 0],
                                                                [70000, 1200, 1200, 0]]))
    assert sorted(p.name for p in res.iterdir()) == ["mask0000.tif", "mask1200.tif",
                                                    "res_track.txt"]
    back, tracks = read_ctc_result(res)
    assert sorted(back) == [0, 1200] and back[1200].dtype == np.uint32
    np.testing.assert_array_equal(back[0], masks[0])
    assert tracks[-1].tolist() == [70000, 1200, 1200, 0]
    assert index_width(999) == 3 and index_width(1000) == 4


def test_result_without_tracks(tmp_path):
    write_ctc_result(tmp_path, {3: np.ones((2, 2), np.uint8)})
    masks, tracks = read_ctc_result(tmp_path)
    assert list(masks) == [3] and tracks is None
    assert (tmp_path / "mask003.tif").is_file()


def test_written_gt_and_result_evaluate_perfectly_with_ctc_metrics(tmp_path):
    from ctc_metrics.scripts.evaluate import evaluate_sequence

    images, masks, tracks = _moving_squares()
    write_ctc_sequence(tmp_path, 1, images, seg={1: masks[1], 3: masks[3]},
                       tra=dict(enumerate(masks)), tracks=tracks)
    write_ctc_result(tmp_path / "01_RES", dict(enumerate(masks)), tracks)
    scores = evaluate_sequence(str(tmp_path / "01_RES"), str(tmp_path / "01_GT"),
                               metrics=["SEG", "DET", "TRA"], threads=1)
    assert scores["SEG"] == pytest.approx(1.0)
    assert scores["TRA"] == pytest.approx(1.0)


def test_bad_sequences(tmp_path):
    with pytest.raises(InputError, match="sequence folder not found"):
        CTCSequence(tmp_path / "01")
    (tmp_path / "01").mkdir()
    (tmp_path / "01" / "frame.tif").write_bytes(b"")
    with pytest.raises(InputError, match="no frames named tTTT.tif"):
        CTCSequence(tmp_path / "01")
    (tmp_path / "01" / "t001.tif").write_bytes(b"")
    (tmp_path / "01" / "t0001.tif").write_bytes(b"")
    with pytest.raises(InputError, match="same index 1"):
        CTCSequence(tmp_path / "01")


def test_ground_truth_folder_needs_seg_or_tra(tmp_path):
    with pytest.raises(InputError, match="ground-truth folder not found"):
        CTCGroundTruth(tmp_path / "01_GT")
    (tmp_path / "01_GT").mkdir()
    with pytest.raises(InputError, match="neither a SEG nor a TRA"):
        CTCGroundTruth(tmp_path / "01_GT")


def test_gt_of_wrong_shape_is_reported_per_frame(tmp_path):
    images, masks, _ = _moving_squares(2)
    write_ctc_sequence(tmp_path, 1, images, seg={0: masks[0]})
    tifffile.imwrite(tmp_path / "01_GT" / "SEG" / "man_seg001.tif", np.zeros((3, 3), np.uint16))
    seq = CTCSequence(tmp_path / "01")
    assert seq.frame(0).seg is not None
    with pytest.raises(InputError, match="01_GT/SEG: label shape"):
        seq.frame(1)


def test_gt_for_missing_frame(tmp_path):
    images, masks, _ = _moving_squares(2)
    write_ctc_sequence(tmp_path, 1, images, seg={0: masks[0]})
    tifffile.imwrite(tmp_path / "01_GT" / "SEG" / "man_seg005.tif", masks[0])
    with pytest.raises(InputError, match="annotation of frame 5 has no frame"):
        ctc_items(tmp_path)
    with pytest.raises(InputError, match="no frame 5"):
        CTCSequence(tmp_path / "01").image(5)


def test_write_sequence_checks_before_writing(tmp_path):
    images, masks, _ = _moving_squares(2)
    with pytest.raises(InputError, match="annotation for frame 2"):
        write_ctc_sequence(tmp_path, 1, images, seg={2: masks[0]})
    with pytest.raises(InputError, match="does not match"):
        write_ctc_sequence(tmp_path, 1, images, tra={0: masks[0][:5]})
    with pytest.raises(InputError, match="slice z=0"):
        write_ctc_sequence(tmp_path, 1, images, seg_slices={0: {0: masks[0]}})
    with pytest.raises(InputError, match="negative"):
        write_ctc_sequence(tmp_path, 1, images, tracks=np.array([[1, 0, 1, -1]]))
    assert list(tmp_path.iterdir()) == []
