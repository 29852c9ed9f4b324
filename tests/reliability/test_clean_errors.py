"""Bad input gets one clear line naming the file and the problem, never a traceback nor a silent
run: configurations that are not UTF-8, file names that are not UTF-8, malformed CTC track files
and a resumed training run under another configuration."""
import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import yaml

from microseg.cli import main
from microseg.config import load_yaml
from microseg.data import synthetic
from microseg.errors import ConfigError, InputError
from microseg.io.ctc import write_ctc_result, write_ctc_sequence
from microseg.io.images import write_labels
from microseg.metrics import evaluate_ctc, evaluate_folders
from microseg.train import train


def _error_lines(err, command):
    return [line for line in err.splitlines() if line.startswith(f"microseg {command}: error:")]


# --- configurations ---------------------------------------------------------------------------

def test_a_latin1_configuration_is_an_input_error_at_its_first_bad_byte(tmp_path, capsys):
    path = tmp_path / "train.yaml"
    path.write_bytes("iterations: 5\nname: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError) as error:
        load_yaml(path)
    # "iterations: 5\n" is 14 bytes, "name: caf" 9 more: é (0xe9) is byte 23
    assert str(error.value) == (f"{path}: not UTF-8 text (byte 0xe9 at offset 23); save the "
                                f"configuration as UTF-8")
    assert main(["train", str(path)]) == 2
    assert _error_lines(capsys.readouterr().err, "train") == [
        f"microseg train: error: {error.value}"]


# --- file names that are not UTF-8 ------------------------------------------------------------

def _label_folders(root):
    """``root/pred`` and ``root/gt``, each with ``ok.tif`` and ``im\\xff.tif`` (a Latin-1 byte
    in the name), predictions equal to the truth."""
    labels = np.zeros((16, 16), np.uint16)
    labels[2:6, 2:6] = 1
    for folder in ("pred", "gt"):
        for name in (b"ok.tif", b"im\xff.tif"):
            write_labels(os.fsdecode(os.fsencode(root / folder) + b"/" + name), labels)
    return root / "pred", root / "gt"


def test_the_csv_of_a_file_name_that_is_not_utf8_is_utf8_with_the_byte_escaped(tmp_path):
    pred, gt = _label_folders(tmp_path)
    written = evaluate_folders(pred, gt, "seg").write_csv(tmp_path / "scores.csv")
    with open(written, encoding="utf-8", newline="") as handle:   # strict: fails on raw bytes
        rows = {row["image"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"im\\xff", "ok", "overall"}
    assert rows["im\\xff"]["seg"] == "1.0"


def test_evaluate_command_with_names_that_are_not_utf8_and_a_strict_stdout(tmp_path):
    pred, gt = _label_folders(tmp_path)
    table = os.fsencode(tmp_path) + b"/scores\xff.csv"
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "microseg", "evaluate", str(pred), str(gt),
                           "--metrics", "seg", "--csv", table], capture_output=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    assert b"im\xff" in done.stdout and b"wrote " + table in done.stdout   # the names' own bytes
    with open(table, encoding="utf-8") as handle:
        assert "im\\xff" in handle.read()


# --- CTC track files --------------------------------------------------------------------------

def _tracking_dataset(root):
    """A 3-frame sequence with two cells tracked throughout: ``NN_GT`` and a perfect
    ``01_RES``."""
    frames = np.zeros((3, 12, 16), np.uint16)
    frames[:, 1:4, 1:4] = 1                            # cell 1 stays
    for t in range(3):
        frames[t, 6:10, 4 + t:8 + t] = 2               # cell 2 moves right
    tracks = np.array([[1, 0, 2, 0], [2, 0, 2, 0]])
    write_ctc_sequence(root, 1, list(frames.astype(np.uint8) * 50), seg={2: frames[2]},
                       tra=dict(enumerate(frames)), tracks=tracks)
    write_ctc_result(root / "01_RES", dict(enumerate(frames)), tracks)
    return root / "01_RES", root / "01_GT"


@pytest.mark.parametrize("text, problem", [
    ("1 0 2 0\n2 0 2\n", r"line 2: expected 4 non-negative integers 'L B E P'.*, got '2 0 2'"),
    ("1 0 2 0\n\n2 0 x 0\n", r"line 3: expected 4 non-negative .*, got '2 0 x 0'"),
    ("1 0 2 0\n2 0 2 9\n", r"bad track table: parents not listed as labels \[9\]"),
    ("1 0 2 0\n1 0 2 0\n2 0 2 0\n", r"bad track table: repeated labels \[1\]"),
    ("1 0 2 0\n2 0 5 0\n", r"tracks \[2\] end after the last frame 2"),
    ("", r"lists no tracks.*"),
    ("\n\n", r"lists no tracks.*"),
])
def test_a_malformed_result_track_file_gets_our_readers_error(tmp_path, text, problem):
    res, gt = _tracking_dataset(tmp_path)
    assert evaluate_ctc(res, gt, "det,tra").overall["tra"] == 1.0
    (res / "res_track.txt").write_text(text)
    with pytest.raises(InputError) as error:
        evaluate_ctc(res, gt, "det,tra")
    assert error.value.path == res / "res_track.txt"
    assert re.fullmatch(problem, error.value.reason)


def test_a_track_file_missing_a_cell_says_which(tmp_path, capsys):
    res, gt = _tracking_dataset(tmp_path)
    (res / "res_track.txt").write_text("1 0 2 0\n")
    assert main(["evaluate", str(res), str(gt), "--metrics", "det"]) == 2
    (line,) = _error_lines(capsys.readouterr().err, "evaluate")
    assert "masks and res_track.txt disagree" in line
    assert "Label 2 in mask but not in res_track" in line


def test_a_malformed_ground_truth_track_file_is_named_too(tmp_path):
    res, gt = _tracking_dataset(tmp_path)
    (gt / "TRA" / "man_track.txt").write_text("1 0 2 0\n2 0 2 0 0\n")
    with pytest.raises(InputError, match=r"man_track.txt: line 2: expected 4"):
        evaluate_ctc(res, gt, "tra")


# --- resuming a training run ------------------------------------------------------------------

@pytest.fixture
def run(tmp_path):
    """A tiny training configuration (YAML) on synthetic nuclei and a 2-iteration run of it."""
    data = synthetic.write_synthetic("nuclei2d", tmp_path / "syn", n=4, seed=0, shape=(40, 40))
    spec = {
        "data": {"root": str(data), "sources": [{
            "kind": "folder", "name": "syn", "images": "images", "labels": "labels",
            "split": {"method": "random", "fractions": {"train": 0.5, "val": 0.5}},
        }]},
        "model": {"name": "unet", "params": {"depth": 2, "base_channels": 4}},
        "optimizer": {"name": "adam", "lr": 0.01},
        "iterations": 2, "batch_size": 2, "crop": 32, "threads": 1,
        "validation": {"every": 2}, "log_every": 1, "output": str(tmp_path / "first"),
    }
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump(spec))
    assert main(["train", str(config), "--quiet"]) == 0
    return config, tmp_path / "first" / "last.pt"


def test_resume_under_another_configuration_says_which_keys_differ(run, tmp_path, capsys):
    config, last = run
    capsys.readouterr()
    code = main(["train", str(config), "--resume", str(last), "--out", str(tmp_path / "second"),
                 "--quiet", "--set", "optimizer.lr=0.001", "--set", "crop=16"])
    assert code == 2
    (line,) = _error_lines(capsys.readouterr().err, "train")
    assert line.startswith(f"microseg train: error: {last}: cannot resume under a different "
                           f"configuration: crop: 32 → 16; optimizer.lr: 0.01 → 0.001; only ")
    assert not (tmp_path / "second").exists()


def test_resume_may_change_the_run_length_output_and_validation_cadence(run, tmp_path):
    config, last = run
    longer = yaml.safe_load(config.read_text())
    longer.update(iterations=4, output=str(tmp_path / "elsewhere"), log_every=2)
    longer["validation"]["every"] = 1
    result = train(longer, resume=last, progress=False)
    assert result.stopped == "completed" and result.iteration == 4
    assert [h["iteration"] for h in result.history] == [2, 3, 4]
    changed = dict(longer, seed=1)
    with pytest.raises(ConfigError, match=r"seed: 0 → 1"):
        train(changed, resume=last, progress=False)
