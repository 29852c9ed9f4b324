"""An image too large for the memory budget is refused with a clear message before it runs, an
image that fails in any other way (even out of memory inside torch) fails alone, and the batch
goes on with the others; the memory estimate stays above the memory a run really takes."""
import os
import subprocess
import sys
import textwrap

import pytest

from microseg.cli import main
from microseg.data import synthetic
from microseg.io.images import write_image
from microseg.malloc import tuned_environment
from microseg.memory import available_memory, format_size, parse_size
from microseg.pipelines.files import output_paths


def _images(folder, sizes):
    """``name → size`` synthetic nuclei images written as ``folder/name.tif``."""
    for seed, (name, size) in enumerate(sizes.items()):
        write_image(folder / f"{name}.tif",
                    synthetic.generate("nuclei2d", seed=seed, shape=(size, size)).image)
    return folder


def _run(script, *args):
    """``script`` run by this Python on one thread (malloc tuned as the command tunes it)."""
    env = tuned_environment(os.environ) or dict(os.environ)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                          capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1"})


def test_an_image_over_the_memory_limit_is_refused_and_the_others_are_segmented(tmp_path,
                                                                                capsys):
    images = _images(tmp_path / "images", {"a": 64, "big": 640, "c": 64})
    out = tmp_path / "out"
    code = main(["segment", str(images), "--out", str(out), "--model", "default",
                 "--memory-limit", "160M", "--quiet"])
    assert code == 1
    captured = capsys.readouterr()
    assert f"{images / 'big.tif'}: needs about" in captured.err
    assert "more than the 160.0 MiB allowed by --memory-limit" in captured.err
    assert "Traceback" not in captured.err
    assert "segmented 2 image(s)" in captured.out
    assert all(p.exists() for stem in "ac" for p in output_paths(out, stem))
    assert not any(p.exists() for p in output_paths(out, "big"))


def test_an_image_that_runs_out_of_memory_fails_alone(tmp_path):
    images = _images(tmp_path / "images", {"a": 64, "big": 1536, "c": 64})
    out = tmp_path / "out"
    done = _run("""
        import re, resource, sys
        from microseg.cli import main
        # imports, the model and compiled kernels, before the address limit: a whole run on a
        # small image (under the limit a late import can stall in OpenBLAS's allocator)
        main(["segment", sys.argv[2] + "/a.tif", "--out", sys.argv[4] + "-warm", "--model",
              "default", "--threads", "1", "--quiet"])
        status = open("/proc/self/status").read()
        used = int(re.search(r"VmSize:\\s+(\\d+)", status).group(1)) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (used + 200 * 2**20, resource.RLIM_INFINITY))
        sys.exit(main(sys.argv[1:]))
        """, "segment", images, "--out", out, "--model", "default", "--threads", "1",
                "--memory-limit", "1T", "--quiet")
    assert done.returncode == 1, done.stderr
    assert f"failed: {images / 'big.tif'}: unexpected" in done.stderr
    assert "Traceback" not in done.stderr
    assert all(p.exists() for stem in "ac" for p in output_paths(out, stem))


def test_the_memory_estimate_is_above_the_peak_of_a_run(tmp_path):
    done = _run("""
        import re, sys
        from pathlib import Path
        from microseg.io.images import read_array
        from microseg.pipelines.files import SegmentOptions, memory_estimate, segment_paths
        from microseg.pipelines.model import load_model
        import microseg.post   # the post-processing modules load before the peak is measured

        def status(key):
            text = Path("/proc/self/status").read_text()
            return int(re.search(key + r":\\s+(\\d+)", text).group(1)) * 1024

        path = Path(sys.argv[1])
        predictor = load_model("default", threads=1)
        estimate = memory_estimate(read_array(path), predictor, SegmentOptions())
        Path("/proc/self/clear_refs").write_text("5")          # peak := now
        before = status("VmRSS")
        assert segment_paths([path], sys.argv[2], predictor, progress=False).ok
        print(status("VmHWM") - before, estimate)
        """, _images(tmp_path, {"image": 1024}) / "image.tif", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    peak, estimate = map(int, done.stdout.split())
    assert peak <= estimate <= 2 * peak


def test_memory_sizes_are_read_and_written_in_powers_of_1024(capsys):
    assert parse_size("8G") == parse_size("8 GiB") == parse_size("8gb") == 8 * 2**30
    assert parse_size("1.5M") == 3 * 2**19 and parse_size("123") == 123
    assert format_size(3 * 2**29) == "1.5 GiB" and format_size(512) == "512 B"
    with pytest.raises(ValueError, match="expected a size"):
        parse_size("lots")
    with pytest.raises(SystemExit):
        main(["segment", "x.tif", "--out", "out", "--memory-limit", "lots"])
    assert "expected a size such as 8G" in capsys.readouterr().err
    assert 0 < available_memory() < 2**50
