import os
import subprocess
import sys

from microseg.malloc import TUNABLES, tuned_environment


def test_tunables_are_added_to_an_empty_environment():
    env = tuned_environment({"PATH": "/bin"})
    assert env["PATH"] == "/bin"
    assert env["GLIBC_TUNABLES"].split(":") == list(TUNABLES)


def test_existing_tunables_are_kept_and_not_duplicated():
    env = tuned_environment({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1:glibc.cpu.x86_ibt=on"})
    parts = env["GLIBC_TUNABLES"].split(":")
    assert parts[:2] == ["glibc.malloc.trim_threshold=1", "glibc.cpu.x86_ibt=on"]
    assert parts[2:] == [TUNABLES[0]]


def test_no_change_when_mmap_threshold_set_or_opted_out():
    assert tuned_environment({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1"}) is None
    assert tuned_environment({"MICROSEG_MALLOC_TUNING": "0"}) is None


def test_reexec_runs_the_command_once_with_the_variable_set():
    probe = "import os; print(os.environ.get('GLIBC_TUNABLES'))"
    code = ("import sys; from microseg.malloc import reexec_with_tuned_malloc; "
            f"reexec_with_tuned_malloc([sys.executable, '-c', {probe!r}]); print('not replaced')")
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert out == [":".join(TUNABLES)]


def test_a_script_that_opts_in_runs_again_from_the_top_with_the_variable_set(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import os, sys\n"
                      "print('start', sys.argv[1:])\n"
                      "import microseg as ms\n"
                      "ms.malloc.reexec_with_tuned_malloc()\n"
                      "print(os.environ.get('GLIBC_TUNABLES'))\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, str(script), "x"], capture_output=True, text=True,
                         env=env, check=True).stdout.splitlines()
    assert out == ["start ['x']", "start ['x']", ":".join(TUNABLES)]
