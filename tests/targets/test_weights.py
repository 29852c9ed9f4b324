"""ContactWeight: the U-Net-style extra weight where cells touch."""
import numpy as np
import pytest

from microseg.errors import ConfigError
from microseg.targets import ContactWeight


def test_weight_on_touching_rims_and_narrow_gaps_only():
    labels = np.zeros((12, 12), np.uint16)
    labels[2:6, 1:5] = 1
    labels[2:6, 5:9] = 2                          # touches 1 along x = 4 | 5
    labels[9:11, 9:11] = 3                        # alone
    weights = ContactWeight(weight=4.0, radius=1)(labels)
    assert weights.dtype == np.float32 and weights.shape == labels.shape
    marked = weights == 4.0
    # the 3-pixel-wide column strip around the contact, one row above and below the cells
    expected = np.zeros_like(marked)
    expected[1:7, 4:6] = True
    np.testing.assert_array_equal(marked, expected)
    assert set(np.unique(weights)) == {1.0, 4.0}


def test_weight_one_changes_nothing_and_is_inactive():
    labels = np.arange(16, dtype=np.uint16).reshape(4, 4)
    weighting = ContactWeight()
    assert not weighting.active
    assert (weighting(labels) == 1).all()


@pytest.mark.parametrize("weight, radius", [(0.5, 2), (True, 2), ("5", 2), (2.0, 0), (2.0, 1.5)])
def test_bad_settings_are_config_errors(weight, radius):
    with pytest.raises(ConfigError, match="contact"):
        ContactWeight(weight, radius)
