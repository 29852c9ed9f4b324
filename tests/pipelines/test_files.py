"""``microseg segment``: outputs per input and the error paths."""
import csv

import numpy as np
import pytest
import torch

from microseg import models
from microseg.cli import main
from microseg.data import synthetic
from microseg.io.ctc import write_ctc_sequence
from microseg.io.images import read_array, read_labels, write_image
from microseg.models.checkpoint import save_checkpoint

OUTPUTS = ("{}_labels.tif", "{}_overlay.png", "{}.csv")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = models.build("unet", base_channels=4, depth=2)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "model.pt", model,
                           {"target": {"name": "three_class"}})


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    for i in range(2):
        write_image(folder / f"cell{i}.tif",
                    synthetic.generate("nuclei2d", seed=i, shape=(40, 48)).image)
    return folder


def _outputs(folder, stem):
    return [folder / pattern.format(stem) for pattern in OUTPUTS]


def _segment(*args):
    return main(["segment", *map(str, args), "--quiet"])


def test_writes_labels_overlay_and_measurements_per_input(checkpoint, images, tmp_path):
    out = tmp_path / "out"
    assert _segment(images / "cell0.tif", images / "cell1.tif", "--model", checkpoint,
                    "--out", out) == 0
    for stem in ("cell0", "cell1"):
        labels_path, overlay_path, csv_path = _outputs(out, stem)
        labels = read_labels(labels_path)
        assert labels.shape == (40, 48)
        assert read_array(overlay_path).shape == (40, 48, 3)
        with open(csv_path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [int(r["label"]) for r in rows] == sorted(set(np.unique(labels)) - {0})
    # no temporary files: only the completion record of each input
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".microseg"]
    assert sorted(p.name for p in (out / ".microseg").iterdir()) == ["cell0.json", "cell1.json"]


def test_folders_globs_and_ctc_sequences_are_expanded(checkpoint, images, tmp_path):
    assert _segment(images, "--model", checkpoint, "--out", tmp_path / "a") == 0
    assert all(p.exists() for s in ("cell0", "cell1") for p in _outputs(tmp_path / "a", s))
    assert _segment(images / "cell*.tif", "--model", checkpoint, "--out", tmp_path / "b") == 0
    assert len(list((tmp_path / "b").glob("*_labels.tif"))) == 2
    frames = [synthetic.generate("nuclei2d", seed=s, shape=(32, 32)).image for s in range(3)]
    sequence = write_ctc_sequence(tmp_path / "ctc", 1, frames)
    assert _segment(sequence, "--model", checkpoint, "--out", tmp_path / "c") == 0
    assert sorted(p.name for p in (tmp_path / "c").glob("*_labels.tif")) == [
        "t000_labels.tif", "t001_labels.tif", "t002_labels.tif"]


def test_a_stack_gives_3d_labels_and_volumes(checkpoint, tmp_path):
    stack = synthetic.generate("nuclei3d", seed=0, shape=(6, 32, 40)).image
    write_image(tmp_path / "stack.tif", stack)
    assert _segment(tmp_path / "stack.tif", "--model", checkpoint, "--out", tmp_path / "out",
                    "--spacing", 2, 1, 1, "--instances3d", "stack") == 0
    assert read_labels(tmp_path / "out" / "stack_labels.tif").shape == (6, 32, 40)
    header = (tmp_path / "out" / "stack.csv").read_text().splitlines()[0].split(",")
    assert "volume" in header and "volume_physical" in header


def test_missing_input_is_reported_and_the_others_are_written(checkpoint, images, tmp_path,
                                                              capsys):
    out = tmp_path / "out"
    code = _segment(tmp_path / "absent.tif", images / "cell0.tif", "--model", checkpoint,
                    "--out", out)
    assert code != 0
    assert "absent.tif" in capsys.readouterr().err
    assert all(p.exists() for p in _outputs(out, "cell0"))


def test_a_corrupt_tiff_is_skipped(checkpoint, images, tmp_path, capsys):
    whole = (images / "cell0.tif").read_bytes()
    (images / "broken.tif").write_bytes(whole[: len(whole) // 2])        # truncated file
    out = tmp_path / "out"
    assert _segment(images, "--model", checkpoint, "--out", out) == 1
    assert "broken.tif" in capsys.readouterr().err
    assert not any(p.exists() for p in _outputs(out, "broken"))
    assert all(p.exists() for s in ("cell0", "cell1") for p in _outputs(out, s))


def test_existing_outputs_are_kept_unless_overwrite(checkpoint, images, tmp_path, capsys):
    out = tmp_path / "out"
    assert _segment(images / "cell0.tif", "--model", checkpoint, "--out", out) == 0
    csv_path = _outputs(out, "cell0")[2]
    csv_path.write_text("kept\n")
    assert _segment(images / "cell0.tif", images / "cell1.tif", "--model", checkpoint,
                    "--out", out) == 0
    assert "cell0.tif: complete (--overwrite redoes it)" in capsys.readouterr().out
    assert csv_path.read_text() == "kept\n"
    assert all(p.exists() for p in _outputs(out, "cell1"))
    assert _segment(images / "cell0.tif", "--model", checkpoint, "--out", out,
                    "--overwrite") == 0
    assert csv_path.read_text().startswith("label,")


def test_model_and_option_errors_stop_before_any_output(checkpoint, images, tmp_path, capsys):
    out = tmp_path / "out"
    assert _segment(images, "--model", tmp_path / "none.pt", "--out", out) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert _segment(images, "--model", checkpoint, "--out", out, "--diameter", 20) == 2
    assert "diameter" in capsys.readouterr().err
    assert _segment(images, "--model", checkpoint, "--out", out, "--diameter", "auto") == 2
    assert "training object diameter" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        _segment(images, "--model", checkpoint, "--out", out, "--diameter", "big")
    assert stopped.value.code == 2 and "'auto' or 'model', got 'big'" in capsys.readouterr().err
    assert _segment(images, "--model", checkpoint, "--out", out, "--post", "magic") == 2
    assert not out.exists()


def test_post_params_override_the_models(checkpoint, images, tmp_path, capsys):
    source = images / "cell0.tif"
    everything, nothing = tmp_path / "all", tmp_path / "none"
    for out, threshold in ((everything, 0.0), (nothing, 1.0)):
        assert _segment(source, "--model", checkpoint, "--out", out, "--post", "components",
                        "--post-param", "foreground=2", "--post-param",
                        f"threshold={threshold}") == 0
    # every softmax probability is above 0 and below 1
    assert np.all(read_labels(_outputs(everything, "cell0")[0]) == 1)
    assert not read_labels(_outputs(nothing, "cell0")[0]).any()
    assert _segment(source, "--model", checkpoint, "--out", tmp_path / "bad",
                    "--post-param", "threshold") == 2
    assert "KEY=VALUE" in capsys.readouterr().err
