"""Synthetic time-lapses for the tracking tests: the generator's movie with every frame's ids
shuffled (so identities must be found, not read), and its ground truth written in CTC layout."""
import numpy as np
import pytest

from microseg.data.synthetic import generate
from microseg.io.ctc import write_ctc_sequence

MOVIE = dict(n_frames=12, shape=(96, 96), n_cells=6, division=0.2, min_age=2)


def _shuffle_ids(labels, rng):
    """Each frame of ``labels`` ``(T, Y, X)`` with its ids replaced by a random permutation of
    ids drawn from 1..1000."""
    out = []
    for frame in labels:
        ids = np.unique(frame)[1:]
        lut = np.zeros(int(frame.max()) + 1, np.int64)
        lut[ids] = rng.choice(np.arange(1, 1001), ids.size, replace=False)
        out.append(lut[frame].astype(np.uint16))
    return out


def _aogm_zero(markers, tracks):
    """AOGM of an empty result (CTC weights): 10 per GT vertex + 1.5 per GT edge, where the
    edges are the links within tracks (E − B per track) and one per parent link."""
    vertices = sum(int(np.count_nonzero(np.unique(m))) for m in markers)
    edges = int(np.sum(tracks[:, 2] - tracks[:, 1]) + np.count_nonzero(tracks[:, 3]))
    return 10.0 * vertices + 1.5 * edges


@pytest.fixture
def shuffle_ids():
    """``shuffle_ids(labels, rng)``: see :func:`_shuffle_ids`."""
    return _shuffle_ids


@pytest.fixture
def aogm_zero():
    """``aogm_zero(markers, tracks)``: see :func:`_aogm_zero`."""
    return _aogm_zero


@pytest.fixture
def movie_params():
    """Parameters of the synthetic movies (a dict to update)."""
    return dict(MOVIE)


@pytest.fixture(scope="module")
def movie():
    """A 12-frame 96 × 96 movie with several divisions (seed fixed)."""
    sample = generate("timelapse", seed=3, **MOVIE)
    assert np.count_nonzero(sample.tracks[:, 3]) >= 8  # several divisions to find
    return sample


@pytest.fixture(scope="module")
def ctc_movie(movie, tmp_path_factory):
    """The movie's frames and TRA ground truth in CTC layout; returns the dataset folder."""
    root = tmp_path_factory.mktemp("ctc")
    write_ctc_sequence(root, 1, list(movie.images), tra=dict(enumerate(movie.markers)),
                       tracks=movie.tracks)
    return root
