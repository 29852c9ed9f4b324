"""write_synthetic and `microseg synth`: what is written reads back through microseg.io."""
import numpy as np
import pytest

from microseg.cli import main
from microseg.data import synthetic
from microseg.data.synthetic import sample_seed, write_synthetic
from microseg.errors import ConfigError
from microseg.io.ctc import CTCSequence, read_ctc_result
from microseg.io.folders import list_images, pair_by_stem
from microseg.io.images import read_array, read_labels
from microseg.io.isbi import membrane_to_instances


def test_folder_layout_round_trip(tmp_path):
    out = write_synthetic("nuclei2d", tmp_path / "set", n=3, seed=4, shape=(40, 40), diameter=10)
    pairs = pair_by_stem(out / "images", out / "labels")
    assert [p[0].name for p in pairs] == ["000.tif", "001.tif", "002.tif"]
    for i, (image_path, label_path) in enumerate(pairs):
        expected = synthetic.nuclei2d(sample_seed(4, i), shape=(40, 40), diameter=10)
        image, labels = read_array(image_path), read_labels(label_path)
        assert image.dtype == np.uint16 and np.array_equal(image, expected.image)
        assert np.array_equal(labels, expected.labels)
    first = read_labels(pairs[0][1])
    assert not np.array_equal(first, read_labels(pairs[1][1]))


def test_em_writes_isbi_membranes_that_give_back_the_instances(tmp_path):
    out = write_synthetic("em", tmp_path, n=1, seed=0, shape=(2, 48, 48), diameter=16)
    labels = read_labels(out / "labels" / "000.tif")
    membranes = read_array(out / "membranes" / "000.tif")
    assert membranes.dtype == np.uint8 and np.array_equal(membranes, synthetic.isbi_labels(labels))
    instances = membrane_to_instances(membranes)
    for z in range(2):
        fg = labels[z] > 0
        pairs = np.unique(np.stack([instances[z][fg], labels[z][fg]]), axis=1)
        assert pairs.shape[1] == len(np.unique(labels[z][fg])) == len(np.unique(instances[z][fg]))


def test_perturbed_folder_copy(tmp_path):
    out = write_synthetic("cells2d", tmp_path, n=2, seed=0, perturbed=True, shape=(64, 64),
                          diameter=14)
    for name in ("000.tif", "001.tif"):
        truth, wrong = read_labels(out / "labels" / name), read_labels(out / "perturbed" / name)
        assert truth.shape == wrong.shape and not np.array_equal(truth, wrong)


def test_timelapse_writes_ctc_layout_that_reads_back(tmp_path):
    params = dict(shape=(48, 48), n_frames=5, n_cells=4, diameter=10, sparse=0.3)
    out = write_synthetic("timelapse", tmp_path, n=2, seed=1, perturbed=True, **params)
    for seq in (1, 2):
        movie = synthetic.timelapse(sample_seed(1, seq - 1), **params)
        sequence = CTCSequence(out / f"{seq:02d}")
        assert sequence.frames == list(range(5))
        assert all(np.array_equal(sequence.image(t), movie.images[t]) for t in range(5))
        assert sequence.gt.seg_frames == sorted(movie.seg)
        assert all(np.array_equal(sequence.gt.seg(t), movie.seg[t]) for t in movie.seg)
        assert all(np.array_equal(sequence.gt.tra(t), movie.markers[t]) for t in range(5))
        assert np.array_equal(sequence.gt.tracks, movie.tracks)
        masks, tracks = read_ctc_result(out / f"{seq:02d}_RES")
        assert sorted(masks) == list(range(5)) and tracks is not None
        for label, begin, end, _ in tracks:
            present = [t for t in masks if np.any(masks[t] == label)]
            assert present == list(range(begin, end + 1))


def test_write_rejects_bad_requests(tmp_path):
    with pytest.raises(ConfigError):
        write_synthetic("nuclei2d", tmp_path, n=0)
    with pytest.raises(ConfigError):
        write_synthetic("nuclei2d", tmp_path, n=1, colour="red")
    assert not any(tmp_path.iterdir())


def test_cli_writes_the_same_as_the_api(tmp_path, capsys):
    code = main(["synth", "nuclei3d", "--out", str(tmp_path / "cli"), "--n", "2", "--seed", "3",
                 "--size", "6", "32", "32", "--set", "diameter=9", "--set", "anisotropy=2"])
    assert code == 0 and "2 synthetic nuclei3d" in capsys.readouterr().out
    api = write_synthetic("nuclei3d", tmp_path / "api", n=2, seed=3, shape=(6, 32, 32),
                          diameter=9, anisotropy=2.0)
    cli_files = list_images(tmp_path / "cli" / "images")
    assert [p.name for p in cli_files] == [p.name for p in list_images(api / "images")]
    for path in cli_files:
        assert np.array_equal(read_array(path), read_array(api / "images" / path.name))
        assert np.array_equal(read_labels(tmp_path / "cli" / "labels" / path.name),
                              read_labels(api / "labels" / path.name))


def test_cli_timelapse_with_perturbed_result(tmp_path):
    code = main(["synth", "timelapse", "--out", str(tmp_path), "--size", "48", "48",
                 "--frames", "4", "--sparse", "0.5", "--set", "n_cells=3", "--set", "diameter=10",
                 "--perturbed-result"])
    assert code == 0
    assert (tmp_path / "01_GT" / "TRA" / "man_track.txt").is_file()
    assert (tmp_path / "01_RES" / "res_track.txt").is_file()
    assert len(list((tmp_path / "01_RES").glob("mask*.tif"))) == 4


@pytest.mark.parametrize("argv", [
    ["synth", "plants", "--out", "X"],
    ["synth", "nuclei2d", "--out", "X", "--set", "diameter"],
    ["synth", "nuclei2d", "--out", "X", "--frames", "3"],
    ["synth", "em", "--out", "X", "--size", "4"],
    ["synth", "cells2d", "--out", "X", "--seed", "-2"],
])
def test_cli_bad_arguments_exit_2(argv, tmp_path, capsys):
    argv = [str(tmp_path / a) if a == "X" else a for a in argv]
    assert main(argv) == 2
    assert "microseg synth: error:" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
