"""Registry, configuration and the output contract shared by every target."""
import numpy as np
import pytest

from microseg import targets
from microseg.errors import ConfigError, InputError

NAMES = ["binary", "boundary", "center_heatmap", "fgbg", "inner_distance", "outer_distance",
         "pixelwise", "three_class"]


def test_available_lists_every_target():
    assert targets.available() == NAMES


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(40, 48), (6, 24, 20)])
def test_output_follows_the_contract(name, shape, random_cells):
    labels = random_cells(shape, 12, 4)
    target = targets.build(name)
    out = target(labels)
    assert target.name == name
    if target.kind == "classes":
        assert out.dtype == np.int64 and out.shape == labels.shape
        assert set(np.unique(out)) <= set(range(target.channels))
        assert set(np.unique(out)) >= {0, target.channels - 1}
    else:
        assert target.kind == "maps"
        assert out.dtype == np.float32 and out.shape == (target.channels, *labels.shape)
        assert out.min() >= 0 and out.max() <= 1 and out.max() > 0
    # background-only images are valid input
    empty = target(np.zeros(shape, np.uint8))
    expected = 1 if name == "boundary" else 0  # label 0 is membrane for the EM boundary map
    assert empty.shape == out.shape and np.all(empty == expected)


@pytest.mark.parametrize("name", NAMES)
def test_config_rebuilds_the_same_target(name):
    target = targets.build(name)
    rebuilt = targets.build(**target.config())
    assert rebuilt == target and type(rebuilt) is type(target)


def test_bad_configuration_is_a_config_error():
    with pytest.raises(ConfigError, match="target: 'nope' is not one of"):
        targets.build("nope")
    with pytest.raises(ConfigError, match="erosion"):
        targets.build("three_class", erosion=-1)
    with pytest.raises(ConfigError, match="unknown key"):
        targets.build("inner_distance", alpha=2)
    with pytest.raises(ConfigError, match="sigma_scale"):
        targets.build("center_heatmap", sigma_scale=0)
    with pytest.raises(ConfigError, match="dilation: must be int, got float"):
        targets.build("boundary", dilation=1.5)
    with pytest.raises(ConfigError, match="b: must be float, got str"):
        targets.build("inner_distance", b="one")


@pytest.mark.parametrize("bad, reason", [
    (np.zeros(5, np.uint8), "shape"),
    (np.zeros((2, 2, 2, 2), np.uint8), "shape"),
    (np.full((4, 4), 1.5), "whole numbers"),
    (-np.ones((4, 4), np.int32), "≥ 0"),
    (np.zeros((0, 4), np.uint8), "empty"),
])
def test_bad_labels_are_an_input_error_naming_the_target(bad, reason):
    with pytest.raises(InputError, match=f"three_class.*{reason}"):
        targets.build("three_class")(bad)
