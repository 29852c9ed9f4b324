"""A display for the napari tests of this folder only: the one the session has, else a private
Xvfb server (napari draws its canvas with OpenGL, which Qt's ``offscreen`` platform lacks),
else Qt's ``offscreen`` platform and the tests that need a canvas skipped."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

_QT_STARTS = "from qtpy.QtWidgets import QApplication; QApplication([])"


def _xvfb() -> tuple[subprocess.Popen | None, str | None]:
    """A running Xvfb on a free display number and that display, or (None, None). The server
    outlives the session by design and stops when this process has ended: Qt aborts a process
    whose X server goes away while its application object lives, which it does until exit."""
    for number in range(90, 120):
        if os.path.exists(f"/tmp/.X11-unix/X{number}") or os.path.exists(f"/tmp/.X{number}-lock"):
            continue
        watch = (f"Xvfb :{number} -screen 0 1280x1024x24 -nolisten tcp >/dev/null 2>&1 & "
                 f"server=$!; while kill -0 {os.getpid()} 2>/dev/null && kill -0 $server; "
                 f"do sleep 1; done; kill $server 2>/dev/null")
        server = subprocess.Popen(["sh", "-c", watch], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(400):                          # up to 20 s on a busy machine
            if os.path.exists(f"/tmp/.X11-unix/X{number}"):
                return server, f":{number}"
            if server.poll() is not None:
                break
            time.sleep(0.05)
        os.killpg(server.pid, signal.SIGTERM)
    return None, None


@pytest.fixture(scope="session", autouse=True)
def display():
    """Whether napari can draw here (see the module docstring); the environment is restored at
    the end of the session."""
    saved = {key: os.environ.get(key) for key in ("DISPLAY", "QT_QPA_PLATFORM")}
    server = None
    if not os.environ.get("DISPLAY") and shutil.which("Xvfb"):
        server, number = _xvfb()
        if server is not None:
            env = {**os.environ, "DISPLAY": number, "QT_QPA_PLATFORM": "xcb"}
            # Qt aborts the process when its xcb platform cannot load: try it in a child first
            if subprocess.run([sys.executable, "-c", _QT_STARTS], env=env,
                              capture_output=True).returncode == 0:
                os.environ.update(DISPLAY=number, QT_QPA_PLATFORM="xcb")
            else:
                os.killpg(server.pid, signal.SIGTERM)
    if not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    yield bool(os.environ.get("DISPLAY"))
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def viewer(display, make_napari_viewer):
    """A napari viewer (skips without a display: its canvas needs OpenGL). Worker threads the
    test started are waited for before the viewer closes (one outliving Qt aborts the
    process)."""
    if not display:
        pytest.skip("napari's canvas needs OpenGL: run with a display or install Xvfb")
    from napari.qt.threading import WorkerBase

    yield make_napari_viewer()
    WorkerBase.await_workers()
