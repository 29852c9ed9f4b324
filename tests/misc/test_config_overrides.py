import pytest

from microseg.config import parse_assignment, with_overrides
from microseg.errors import ConfigError


def test_values_are_parsed_as_yaml():
    assert parse_assignment("a=3") == ("a", 3)
    assert parse_assignment(" b =[1, 2]") == ("b", [1, 2])
    assert parse_assignment("c=true") == ("c", True)
    assert parse_assignment("d=x=y") == ("d", "x=y")
    for bad in ("novalue", "=3", "e=[1"):
        with pytest.raises(ConfigError):
            parse_assignment(bad)


def test_dotted_keys_set_nested_values_without_touching_the_input():
    data = {"model": {"name": "unet", "config": {"depth": 4}}, "iterations": 10}
    out = with_overrides(data, ["model.config.base_channels=32", "iterations=5", "new.key=a"])
    assert out == {"model": {"name": "unet", "config": {"depth": 4, "base_channels": 32}},
                   "iterations": 5, "new": {"key": "a"}}
    assert data["model"]["config"] == {"depth": 4} and data["iterations"] == 10
    with pytest.raises(ConfigError, match="model.name is not a mapping"):
        with_overrides(data, ["model.name.x=1"])


def test_scalar_fields_are_checked_and_yaml_1_1_exponents_read_as_floats():
    from dataclasses import dataclass

    from microseg.config import from_dict

    @dataclass
    class Opt:
        lr: float = 1.0
        steps: int = 1
        flag: bool = False
        name: str = "adam"
        init: str | None = None

    # PyYAML reads "1e-4" (no dot) as a string; a float field takes the number it means
    got = from_dict(Opt, with_overrides({}, ["lr=1e-4", "steps=3", "flag=true", "init=a.pt"]))
    assert got == Opt(lr=1e-4, steps=3, flag=True, init="a.pt")
    assert isinstance(from_dict(Opt, {"lr": 2}).lr, float)
    for bad, field in (({"lr": "fast"}, "lr"), ({"steps": "3"}, "steps"),
                       ({"steps": True}, "steps"), ({"flag": 1}, "flag"),
                       ({"name": 3}, "name"), ({"init": 3}, "init")):
        with pytest.raises(ConfigError, match=f"opt.{field}: must be "):
            from_dict(Opt, bad, where="opt")
