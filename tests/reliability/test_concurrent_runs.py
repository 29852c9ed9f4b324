"""Two runs into one folder share the work: each image is claimed by one process (a lock made
with ``O_CREAT | O_EXCL``), left alone by the others while that process lives, and taken over
when it died."""
import json
import os
import re
import subprocess
import sys

from microseg.cli import main
from microseg.data import synthetic
from microseg.io.images import write_image
from microseg.io.units import claim
from microseg.pipelines.files import output_unit

N_IMAGES = 16


def _images(folder, n):
    for i in range(n):
        write_image(folder / f"cell{i:02d}.tif",
                    synthetic.generate("nuclei2d", seed=i, shape=(128, 128)).image)
    return folder


def _segmented(stdout):
    """Stems a run's output reports as segmented."""
    return {m.group(1) for m in re.finditer(r"^(\S+): \d+ objects", stdout, re.MULTILINE)}


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_two_runs_into_one_folder_segment_each_image_once(tmp_path):
    images = _images(tmp_path / "images", N_IMAGES)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "microseg", "segment", str(images), "--out", str(out),
               "--model", "default", "--threads", "1", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env) for _ in range(2)]
    outputs = [run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    first, second = (_segmented(stdout) for stdout, _ in outputs)
    assert not first & second
    assert first | second == {f"cell{i:02d}" for i in range(N_IMAGES)}
    assert all(p.exists() for stem in first | second for p in output_unit(out, stem).outputs)
    assert sorted(p.suffix for p in (out / ".microseg").iterdir() if p.is_file()) == \
        [".json"] * N_IMAGES
    assert len(list((out / ".microseg" / "runs").iterdir())) == 2     # one record per run


def test_an_image_claimed_by_a_live_process_is_left_to_it(tmp_path, capsys):
    images = _images(tmp_path / "images", 2)
    out = tmp_path / "out"
    with claim(output_unit(out, "cell00").lock):
        assert main(["segment", str(images), "--out", str(out), "--model", "default",
                     "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"cell00.tif: being written by process {os.getpid()}" in printed
    assert _segmented(printed) == {"cell01"}
    assert not any(p.exists() for p in output_unit(out, "cell00").outputs)


def test_a_claim_whose_process_died_or_whose_pid_was_reused_is_taken_over(tmp_path):
    lock = tmp_path / "unit.lock"
    with claim(lock) as took_over:
        mine = json.loads(lock.read_text())
        assert not took_over
    assert not lock.exists()
    lock.write_text(json.dumps({**mine, "pid": _dead_pid()}))
    with claim(lock) as took_over:
        assert took_over
    # a live pid (ours) with another process's start time: the pid was given to a new process
    lock.write_text(json.dumps({**mine, "started": mine["started"] - 1}))
    with claim(lock) as took_over:
        assert took_over and json.loads(lock.read_text()) == mine
    assert not lock.exists()
