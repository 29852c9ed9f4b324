"""`microseg.config.from_dict`: values checked against their field types, with errors that name
the key path."""
from dataclasses import dataclass, field
from typing import Annotated, Literal

import pytest

from microseg.config import Count, Probability, Range, check_fields, from_dict
from microseg.errors import ConfigError


@dataclass
class Inner:
    p: Probability = 0.0
    scale: tuple[float, float] = (0.8, 1.25)


@dataclass
class Outer:
    mode: Literal["2d", "3d"] = "2d"
    size: Count | None = None
    inner: Inner = field(default_factory=Inner)
    levels: list[Annotated[float, Range(0, 1, low_open=True)]] = field(default_factory=list)
    grid: dict[str, list[int]] = field(default_factory=dict)


def test_nested_mappings_become_dataclasses_and_lists_become_tuples():
    outer = from_dict(Outer, {"mode": "3d", "size": 4, "inner": {"p": 1, "scale": [1, 2]},
                              "grid": {"a": [1, 2]}}, where="top")
    assert outer == Outer("3d", 4, Inner(1.0, (1.0, 2.0)), [], {"a": [1, 2]})
    assert from_dict(Outer, {"size": None}).size is None


@pytest.mark.parametrize("data, message", [
    ({"mode": "4d"}, "top.mode: '4d' is not one of 2d, 3d"),
    ({"size": 0}, "top.size: must be >= 1, got 0"),
    ({"size": True}, "top.size: must be int, got bool True"),
    ({"inner": {"p": 1.5}}, r"top.inner.p: must be in \[0, 1\], got 1.5"),
    ({"inner": {"scale": [1, 2, 3]}}, r"top.inner.scale: expected 2 values, got \[1, 2, 3\]"),
    ({"inner": 3}, "top.inner: expected a mapping, got 3"),
    ({"levels": [0.5, 0]}, r"top.levels\[1\]: must be in \(0, 1\], got 0"),
    ({"grid": {"a": ["x"]}}, r"top.grid.a\[0\]: must be int, got str 'x'"),
    ({"modes": "2d"}, r"top: unknown key\(s\) \['modes'\]; allowed: \['grid', 'inner'"),
])
def test_a_bad_value_is_refused_naming_its_key_path(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Outer, data, where="top")


def test_a_missing_key_is_named():
    @dataclass
    class Needs:
        name: str

    with pytest.raises(ConfigError, match=r"card: missing key\(s\) \['name'\]"):
        from_dict(Needs, {}, where="card")


def test_check_fields_holds_a_dataclass_built_in_python_to_its_types():
    @dataclass
    class Checked:
        p: Probability = 0.0

        def __post_init__(self) -> None:
            check_fields(self, "augment.zoom")

    with pytest.raises(ConfigError, match=r"augment.zoom.p: must be in \[0, 1\], got 2"):
        Checked(p=2)
