"""Fixtures shared across test folders."""
import os

import pytest


class _Payload:
    """Unpickling this runs a shell command that leaves ``marker`` behind."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def hostile(tmp_path):
    """``(payload, marker)``: an object whose unpickling creates the file ``marker`` (which
    does not exist yet), to show that a reader never unpickles."""
    marker = tmp_path / "payload-ran"
    return _Payload(marker), marker
