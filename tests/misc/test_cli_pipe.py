"""The console script stops quietly when the reader of its output goes away (``| head``)."""
import subprocess
import sys


def test_closed_stdout_gives_sigpipe_status_without_a_traceback():
    code = "import sys; from microseg.cli import main; sys.exit(main(['models', 'list']))"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    child.stdout.close()          # before the child has even imported microseg
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
