"""``microseg track`` on files: folders of frames, stacks, and the errors for bad input."""
import csv

import numpy as np
import pytest

from microseg.cli import main
from microseg.errors import InputError
from microseg.io.ctc import read_ctc_result, write_ctc_sequence
from microseg.io.images import write_image, write_labels
from microseg.track import TrackConfig, open_sequence, track
from microseg.track.frames import check_pair


@pytest.fixture
def folders(movie, tmp_path, shuffle_ids):
    """Shuffled labels as ``labels/maskTTT.tif`` and the frames as a CTC sequence ``data/01``."""
    shuffled = shuffle_ids(movie.labels, np.random.default_rng(5))
    for t, labels in enumerate(shuffled):
        write_labels(tmp_path / "labels" / f"mask{t:03d}.tif", labels)
    seq = write_ctc_sequence(tmp_path / "data", 1, list(movie.images))
    return tmp_path / "labels", seq, shuffled


def test_track_folder_writes_ctc_result_and_table(folders, movie, tmp_path, capsys):
    labels_dir, seq, shuffled = folders
    out = tmp_path / "01_RES"
    assert main(["track", str(labels_dir), "--images", str(seq), "--out", str(out),
                 "--quiet"]) == 0
    assert "divisions" in capsys.readouterr().out
    masks, tracks = read_ctc_result(out)
    expected = track(shuffled, movie.images)
    assert tracks.tolist() == expected.tracks.tolist()
    assert all(np.array_equal(masks[t], expected.relabel(t, shuffled[t])) for t in masks)
    with open(out / "tracks.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(np.count_nonzero(np.unique(f)) for f in shuffled)
    assert {"track_id", "frame", "parent", "centroid_y", "centroid_x", "size", "solidity",
            "mean_intensity"} <= set(rows[0])


def test_track_stack_with_options(movie, tmp_path):
    write_labels(tmp_path / "labels.tif", movie.labels)
    write_image(tmp_path / "images.tif", movie.images)
    out = tmp_path / "RES"
    assert main(["track", str(tmp_path / "labels.tif"), "--images", str(tmp_path / "images.tif"),
                 "--out", str(out), "--max-distance", "12", "--no-divisions", "--gap-closing",
                 "--csv", str(tmp_path / "t.csv"), "--quiet"]) == 0
    _, tracks = read_ctc_result(out)
    config = TrackConfig(max_distance=12, divisions=False, gap_closing=True)
    assert tracks.tolist() == track(movie.labels, movie.images, config).tracks.tolist()
    assert (tmp_path / "t.csv").is_file() and not (out / "tracks.csv").exists()


def test_missing_frame_is_an_input_error(folders, tmp_path, capsys):
    labels_dir, seq, _ = folders
    (labels_dir / "mask005.tif").unlink()
    assert main(["track", str(labels_dir), "--images", str(seq), "--out",
                 str(tmp_path / "RES")]) == 2
    assert "missing frame(s) [5]" in capsys.readouterr().err
    assert not (tmp_path / "RES").exists()


def test_label_image_mismatch_is_an_input_error(folders, tmp_path, capsys):
    labels_dir, seq, _ = folders
    write_labels(labels_dir / "mask003.tif", np.zeros((50, 50), np.uint16))
    assert main(["track", str(labels_dir), "--images", str(seq), "--out",
                 str(tmp_path / "RES")]) == 2
    assert "mask003.tif" in capsys.readouterr().err
    (seq / "t011.tif").unlink()
    with pytest.raises(InputError, match="no image for frames"):
        check_pair(open_sequence(labels_dir, labels=True), open_sequence(seq))


def test_open_sequence_numbering(tmp_path):
    frame = np.zeros((6, 6), np.uint16)
    for name in ("a10.tif", "a9.tif", "a11.tif"):
        write_labels(tmp_path / "numbered" / name, frame)
    seq = open_sequence(tmp_path / "numbered", labels=True)
    assert seq.frames == [9, 10, 11] and seq.name(0).endswith("a9.tif")
    for name in ("x.tif", "y.tif"):
        write_labels(tmp_path / "plain" / name, frame)
    assert open_sequence(tmp_path / "plain").frames == [0, 1]
    write_labels(tmp_path / "flat.tif", frame)
    with pytest.raises(InputError, match=r"\(T, Y, X\)"):
        open_sequence(tmp_path / "flat.tif", labels=True)
    with pytest.raises(InputError, match="not found"):
        open_sequence(tmp_path / "nothing")
