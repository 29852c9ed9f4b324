"""A batch killed at any moment is finished by a rerun: complete images are skipped, the image
being written is done again, partial files are removed; ``--overwrite`` redoes everything. The
same holds for the frames of ``microseg ctc``."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from microseg.cli import main
from microseg.data import synthetic
from microseg.io.ctc import read_ctc_result, write_ctc_sequence
from microseg.io.images import read_array, read_labels, write_image, write_labels
from microseg.pipelines.files import output_unit

N_IMAGES = 12


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    for i in range(N_IMAGES):
        write_image(folder / f"cell{i:02d}.tif",
                    synthetic.generate("nuclei2d", seed=i, shape=(160, 160)).image)
    return folder


def _args(*args):
    """Command-line arguments of a run with the bundled default model on one thread."""
    return [*map(str, args), "--model", "default", "--threads", "1", "--quiet"]


def _command(*args):
    return [sys.executable, "-m", "microseg", *_args(*args)]


def _kill_when(command, ready, timeout=120.0):
    """Start ``command``, SIGKILL it as soon as ``ready()`` holds; the process must still run."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()


def _same_outputs(out, reference, stem):
    labels, overlay, table = output_unit(out, stem).outputs
    ref_labels, ref_overlay, ref_table = output_unit(reference, stem).outputs
    np.testing.assert_array_equal(read_labels(labels), read_labels(ref_labels))
    np.testing.assert_array_equal(read_array(overlay), read_array(ref_overlay))
    assert table.read_text() == ref_table.read_text()


def _leftovers(out):
    return [p for p in out.rglob("*") if ".part" in p.name or p.suffix in (".lock", ".staging")]


def test_a_batch_killed_mid_run_is_finished_by_a_rerun(images, tmp_path, capsys):
    out, reference = tmp_path / "out", tmp_path / "reference"
    assert main(_args("segment", images, "--out", reference)) == 0
    records = out / ".microseg"

    def in_the_middle_of_an_image():       # one image done, another claimed and not done
        done = {p.stem for p in records.glob("*.json")}
        return bool(done) and bool({p.stem for p in records.glob("*.lock")} - done)

    _kill_when(_command("segment", images, "--out", out), in_the_middle_of_an_image)
    finished = sorted(p.stem for p in records.glob("*.json"))
    assert 0 < len(finished) < N_IMAGES and _leftovers(out)
    capsys.readouterr()

    assert main(_args("segment", images, "--out", out)) == 0
    printed = capsys.readouterr().out
    for stem in finished:
        assert f"{stem}.tif: complete" in printed
    assert f"{N_IMAGES - len(finished)} image(s)" in printed and "; 0 failed" in printed
    for i in range(N_IMAGES):
        _same_outputs(out, reference, f"cell{i:02d}")
    assert not _leftovers(out)
    assert len(list(records.glob("*.json"))) == N_IMAGES


def test_an_image_a_killed_process_left_half_written_is_done_again(images, tmp_path, capsys):
    out, reference = tmp_path / "out", tmp_path / "reference"
    assert main(_args("segment", images / "cell00.tif", "--out", reference)) == 0
    unit = output_unit(out, "cell00")
    labels_path = unit.outputs[0]
    # a process that claimed the image, renamed one output into place and was writing another
    _kill_when([sys.executable, "-c", f"""
import time
from pathlib import Path
from microseg.io.atomic import atomic_path
from microseg.io.units import claim
with claim(Path({str(unit.lock)!r})), atomic_path({str(unit.outputs[1])!r}):
    Path({str(labels_path)!r}).write_bytes(b"half")
    time.sleep(600)
"""], labels_path.exists)
    assert unit.lock.exists() and _leftovers(out)

    assert main(_args("segment", images / "cell00.tif", "--out", out)) == 0
    assert "segmented 1 image(s)" in capsys.readouterr().out
    _same_outputs(out, reference, "cell00")
    assert not _leftovers(out)


def test_outputs_microseg_did_not_write_are_kept_unless_overwrite(images, tmp_path, capsys):
    out = tmp_path / "out"
    labels_path = output_unit(out, "cell00").outputs[0]
    write_labels(labels_path, np.ones((4, 4), np.uint16))
    assert main(_args("segment", images / "cell00.tif", "--out", out)) == 1
    assert f"{labels_path}: output exists (use --overwrite" in capsys.readouterr().err
    assert read_labels(labels_path).shape == (4, 4)
    assert main(_args("segment", images / "cell00.tif", "--out", out, "--overwrite")) == 0
    assert read_labels(labels_path).shape == (160, 160)


def test_a_rerun_with_overwrite_redoes_every_image(images, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_args("segment", images, "--out", out)) == 0
    table = output_unit(out, "cell03").outputs[2]
    table.write_text("edited\n")
    assert main(_args("segment", images, "--out", out)) == 0
    assert f"segmented 0 image(s) into {out}; {N_IMAGES} skipped" in capsys.readouterr().out
    assert table.read_text() == "edited\n"
    assert main(_args("segment", images, "--out", out, "--overwrite")) == 0
    assert f"segmented {N_IMAGES} image(s) into {out}; 0 skipped" in capsys.readouterr().out
    assert table.read_text().startswith("label,")


def test_a_ctc_run_killed_mid_sequence_keeps_its_frames_and_is_finished(tmp_path):
    movie = synthetic.generate("timelapse", seed=1, n_frames=10, shape=(128, 128), n_cells=6)
    sequence = write_ctc_sequence(tmp_path / "data", 1, list(movie.images))
    out, reference = tmp_path / "01_RES", tmp_path / "REF"
    assert main(_args("ctc", sequence, "--out", reference)) == 0
    scratch = out / ".microseg" / "segmentation"
    _kill_when(_command("ctc", sequence, "--out", out),
               lambda: len(list(scratch.glob("mask*.tif"))) >= 2)
    kept = sorted(scratch.glob("mask*.tif"))
    assert len(kept) < len(movie.images)
    # blank one frame the killed run segmented: a rerun that keeps its frames keeps this one
    write_labels(kept[0], np.zeros_like(read_labels(kept[0])))

    assert main(_args("ctc", sequence, "--out", out)) == 0
    masks, tracks = read_ctc_result(out)
    ref_masks, _ = read_ctc_result(reference)
    blank = int(kept[0].stem[4:])
    assert not masks[blank].any()
    for t in sorted(set(ref_masks) - {blank}):
        np.testing.assert_array_equal(masks[t] > 0, ref_masks[t] > 0)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"mask{t:03d}.tif" for t in masks] + ["res_track.txt", "tracks.csv"])


def test_a_rerun_with_other_settings_does_not_pass_old_results_off_as_complete(tmp_path, capsys):
    image = tmp_path / "one" / "cell.tif"
    write_image(image, synthetic.generate("nuclei2d", seed=0, shape=(160, 160)).image)
    out = tmp_path / "out"
    assert main(["segment", *_args(image, "--out", out)]) == 0
    labels_path = output_unit(out, "cell").outputs[0]
    first = read_labels(labels_path)
    capsys.readouterr()
    # the same settings: complete, skipped
    assert main(["segment", *_args(image, "--out", out)]) == 0
    assert "complete" in capsys.readouterr().out
    # other post-processing: the old result is not "complete"; it is kept until --overwrite
    other = ["--post-param", "min_size=100000"]
    assert main(["segment", *_args(image, "--out", out, *other)]) == 1
    printed = capsys.readouterr()
    assert "other settings" in printed.out + printed.err
    np.testing.assert_array_equal(read_labels(labels_path), first)
    assert main(["segment", *_args(image, "--out", out, *other, "--overwrite")]) == 0
    assert read_labels(labels_path).max() == 0      # every object is below the new min_size
