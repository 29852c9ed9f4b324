"""A private X display for napari on a machine without a screen (the plugin's tests, the
screenshots script): an Xvfb server on a free display number, kept only if Qt's ``xcb``
platform starts on it (napari draws its canvas with OpenGL, which Qt's ``offscreen`` platform
lacks)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

_QT_STARTS = "from qtpy.QtWidgets import QApplication; QApplication([])"


def private_display(screen: str = "1280x1024x24") -> str | None:
    """Start Xvfb with one ``screen`` (width x height x depth) → its display (``":90"``), or
    None when Xvfb is missing, does not start or Qt cannot open a window on it. The server
    stops a second after this process ends (Qt aborts a process whose X server goes away while
    its application object lives, which it does until exit)."""
    if not shutil.which("Xvfb"):
        return None
    for number in range(90, 120):
        if os.path.exists(f"/tmp/.X11-unix/X{number}") or os.path.exists(f"/tmp/.X{number}-lock"):
            continue
        watch = (f"Xvfb :{number} -screen 0 {screen} -nolisten tcp >/dev/null 2>&1 & "
                 f"server=$!; while kill -0 {os.getpid()} 2>/dev/null && kill -0 $server; "
                 f"do sleep 1; done; kill $server 2>/dev/null")
        server = subprocess.Popen(["sh", "-c", watch], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        if not _listening(server, f"/tmp/.X11-unix/X{number}"):
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
            continue
        # Qt aborts the process when its xcb platform cannot load: try it in a child first
        env = {**os.environ, "DISPLAY": f":{number}", "QT_QPA_PLATFORM": "xcb"}
        if subprocess.run([sys.executable, "-c", _QT_STARTS], env=env,
                          capture_output=True).returncode == 0:
            return f":{number}"
        os.killpg(server.pid, signal.SIGTERM)
        return None
    return None


def _listening(server: subprocess.Popen, socket: str, seconds: float = 20.0) -> bool:
    """Whether the X ``server`` has made its ``socket`` within ``seconds`` (a busy machine
    takes a while) and still runs."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and server.poll() is None:
        if os.path.exists(socket):
            return True
        time.sleep(0.05)
    return False
