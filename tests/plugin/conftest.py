"""A display for the napari tests of this folder only: the one the session has, else a private
Xvfb server (:func:`microseg.napari.display.private_display`), else Qt's ``offscreen``
platform and the tests that need a canvas skipped."""
import os

import pytest

from microseg.napari.display import private_display


@pytest.fixture(scope="session", autouse=True)
def display():
    """Whether napari can draw here (see the module docstring); the environment is restored at
    the end of the session."""
    saved = {key: os.environ.get(key) for key in ("DISPLAY", "QT_QPA_PLATFORM")}
    if not os.environ.get("DISPLAY"):
        number = private_display()
        if number is not None:
            os.environ.update(DISPLAY=number, QT_QPA_PLATFORM="xcb")
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
