import numpy as np
import pytest

from microseg.errors import InputError
from microseg.preprocess.pseudocolor import context_pseudocolor


def _stack():
    """Three slices: a bright square in slice 0 only, a bright disk in slice 2 only, slice 1 flat
    with a dim texture."""
    rng = np.random.default_rng(0)
    stack = rng.integers(10, 20, size=(3, 40, 40)).astype(np.uint16)
    stack[0, 5:15, 5:15] = 200
    yy, xx = np.mgrid[:40, :40]
    stack[2][(yy - 28) ** 2 + (xx - 28) ** 2 < 36] = 200
    return stack


def test_channels_carry_neighbour_context():
    stack = _stack()
    out = context_pseudocolor(stack)
    assert out.shape == (3, 3, 40, 40) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    red, green, blue = out[1]
    # slice 1: red doubles the square region of slice 0, blue doubles the disk of slice 2
    np.testing.assert_allclose(red[5:15, 5:15], 2 * green[5:15, 5:15], rtol=1e-5)
    np.testing.assert_allclose(blue[26:31, 26:31], 2 * green[26:31, 26:31], rtol=1e-5)
    np.testing.assert_allclose(red[26:31, 26:31], green[26:31, 26:31], rtol=1e-5)
    np.testing.assert_allclose(blue[5:15, 5:15], green[5:15, 5:15], rtol=1e-5)


def test_edge_slices_have_no_outside_context():
    out = context_pseudocolor(_stack())
    np.testing.assert_allclose(out[0, 0], out[0, 1])  # no slice before the first
    np.testing.assert_allclose(out[2, 2], out[2, 1])  # no slice after the last


def test_blank_stack_stays_zero_and_2d_input_rejected():
    assert not context_pseudocolor(np.zeros((2, 8, 8), np.uint8)).any()
    with pytest.raises(InputError, match=r"\(Z, Y, X\)"):
        context_pseudocolor(np.zeros((8, 8)))
