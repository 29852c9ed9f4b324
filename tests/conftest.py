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


@pytest.fixture(autouse=True, scope="session")
def _no_user_models(tmp_path_factory):
    """The user's own models (``~/.microseg/models``) stay out of every test: the user model
    folder is an empty one of the session's."""
    folder = tmp_path_factory.mktemp("user-models")
    previous = os.environ.get("MICROSEG_USER_MODELS")
    os.environ["MICROSEG_USER_MODELS"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("MICROSEG_USER_MODELS", None)
    else:
        os.environ["MICROSEG_USER_MODELS"] = previous
