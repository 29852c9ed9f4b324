"""``segment_and_track`` / ``microseg ctc``: a synthetic CTC sequence segmented frame by frame and
tracked, checked against segmenting and tracking separately, py-ctcmetrics' validity check and
the sequence's ground truth."""
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import microseg as ms
from microseg.cli import main
from microseg.pipelines.ctc import segment_and_track
from microseg.data import synthetic
from microseg.errors import InputError
from microseg.infer import export_onnx
from microseg.infer.predictor import Predictor
from microseg.io.ctc import read_ctc_result, write_ctc_sequence
from microseg.metrics.ctc_tracking import ctc_tracking_scores
from microseg.track import track

MOVIE = dict(n_frames=8, shape=(80, 80), n_cells=5, division=0.2, min_age=2)


def _bright_is_cell(normalization: str) -> Predictor:
    """A 1×1 convolution scoring normalised intensity above 1/3 as cell: sigmoid(12·x − 4)."""
    conv = nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        conv.weight.fill_(12.0)
        conv.bias.fill_(-4.0)
    return Predictor(conv.eval(), meta={
        "activation": "sigmoid", "normalization": {"method": normalization},
        "post": {"name": "components", "params": {"threshold": 0.5}}})


def _valid(masks: dict, tracks: np.ndarray) -> int:
    from ctc_metrics.metrics.validation.valid import valid

    frames = sorted(masks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # py-ctcmetrics warns about every violation
        return valid([f"mask{t:03d}.tif" for t in frames], tracks,
                     [sorted(set(np.unique(masks[t]).tolist()) - {0}) for t in frames])


@pytest.fixture(scope="module")
def movie():
    return synthetic.generate("timelapse", seed=3, **MOVIE)


@pytest.fixture
def sequence(movie, tmp_path):
    """The movie in CTC layout with TRA ground truth; returns the sequence folder ``01``."""
    return write_ctc_sequence(tmp_path / "data", 1, list(movie.images),
                              tra=dict(enumerate(movie.markers)), tracks=movie.tracks)


def test_segment_and_track_is_segment_then_track(movie, sequence, tmp_path):
    predictor = _bright_is_cell("percentile")
    out = tmp_path / "01_RES"
    result = segment_and_track(sequence, predictor, out, progress=False)
    labels = [ms.segment(image, predictor) for image in movie.images]
    expected = track(labels, list(movie.images))
    masks, tracks = read_ctc_result(out)
    assert sorted(masks) == list(range(MOVIE["n_frames"])) == result.frames.tolist()
    assert tracks.tolist() == expected.tracks.tolist() == result.tracks.tolist()
    for t, mask in masks.items():
        np.testing.assert_array_equal(mask, expected.relabel(t, labels[t]))
    assert _valid(masks, tracks) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"mask{t:03d}.tif" for t in masks] + ["res_track.txt", "tracks.csv"])
    scores = ctc_tracking_scores(out, sequence.parent / "01_GT")
    assert scores["det"] >= 0.9 and scores["tra"] >= 0.85


def test_sequence_normalisation_uses_the_range_of_the_whole_sequence(movie, tmp_path):
    images = [image // 3 if t % 2 else image for t, image in enumerate(movie.images)]
    sequence = write_ctc_sequence(tmp_path / "dim", 1, images)
    predictor = _bright_is_cell("sequence")
    span = (float(min(i.min() for i in images)), float(max(i.max() for i in images)))
    segment_and_track(sequence, predictor, tmp_path / "RES", progress=False)
    masks, _ = read_ctc_result(tmp_path / "RES")
    for t, image in enumerate(images):
        expected = ms.segment(image, predictor, intensity_range=span)
        np.testing.assert_array_equal(masks[t] > 0, expected > 0)
    alone = ms.segment(images[1], predictor)                  # the frame's own range
    assert np.count_nonzero(alone) > 2 * np.count_nonzero(masks[1])


def test_an_existing_result_is_replaced_only_when_asked(sequence, tmp_path):
    predictor = _bright_is_cell("percentile")
    out = tmp_path / "RES"
    segment_and_track(sequence, predictor, out, progress=False)
    with pytest.raises(InputError, match="use --overwrite"):
        segment_and_track(sequence, predictor, out, progress=False)
    (out / "mask999.tif").write_bytes(b"stale")
    segment_and_track(sequence, predictor, out, overwrite=True, progress=False)
    assert not (out / "mask999.tif").exists()
    assert _valid(*read_ctc_result(out)) == 1


def test_bad_sequences(sequence, tmp_path):
    predictor = _bright_is_cell("percentile")
    with pytest.raises(InputError, match="sequence folder not found"):
        segment_and_track(tmp_path / "nowhere", predictor, tmp_path / "RES", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no frames"):
        segment_and_track(tmp_path / "empty", predictor, tmp_path / "RES", progress=False)
    (sequence / "t003.tif").unlink()
    with pytest.raises(InputError, match=r"missing frame\(s\) \[3\]"):
        segment_and_track(sequence, predictor, tmp_path / "RES", progress=False)
    assert not (tmp_path / "RES").exists()


def test_a_frame_that_fails_leaves_no_result_folder(sequence, tmp_path):
    (sequence / "t002.tif").write_bytes(b"II*\x00 this is not a TIFF")
    with pytest.raises(InputError, match="t002.tif"):
        segment_and_track(sequence, _bright_is_cell("percentile"), tmp_path / "out" / "RES",
                          progress=False)
    assert not (tmp_path / "out" / "RES").exists()


def test_command_line(sequence, tmp_path, capsys):
    model = export_onnx(_bright_is_cell("percentile"), tmp_path / "bright.onnx", (1, 1, 32, 32))
    out = tmp_path / "01_RES"
    assert main(["ctc", str(sequence), "--model", str(model), "--out", str(out),
                 "--max-distance", "15", "--gap-closing", "--quiet"]) == 0
    assert "segmented and tracked 8 frames" in capsys.readouterr().out
    masks, tracks = read_ctc_result(out)
    assert sorted(masks) == list(range(MOVIE["n_frames"]))
    assert _valid(masks, tracks) == 1
    assert ctc_tracking_scores(out, sequence.parent / "01_GT", ["det"])["det"] >= 0.9
    assert main(["ctc", str(sequence), "--model", str(model), "--out", str(out),
                 "--quiet"]) == 2
    assert "use --overwrite" in capsys.readouterr().err
    assert main(["ctc", str(tmp_path / "nowhere"), "--model", str(model), "--out",
                 str(tmp_path / "RES2"), "--quiet"]) == 2
    assert "sequence folder not found" in capsys.readouterr().err
