"""Configuration as data: dataclasses built from YAML/dicts, checked against their type hints.

:func:`from_dict` builds a dataclass from a mapping and checks every value against its field's
type: scalars, ``Literal[...]`` choices, ``X | None``, ``list[X]``, ``tuple[X, ...]``,
``dict[str, X]``, nested dataclasses and numbers bounded with :class:`Range`
(``Annotated[float, Range(0, 1)]``). Every error names the key path and what is wrong:

>>> from dataclasses import dataclass
>>> @dataclass
... class Zoom:
...     p: Probability = 0.0
...     mode: Literal["nearest", "linear"] = "linear"
>>> from_dict(Zoom, {"p": 0.5, "mode": "nearest"}, where="augment.zoom")
Zoom(p=0.5, mode='nearest')
>>> from_dict(Zoom, {"p": 1.5}, where="augment.zoom")
Traceback (most recent call last):
...
microseg.errors.ConfigError: augment.zoom.p: must be in [0, 1], got 1.5
>>> from_dict(Zoom, {"mode": "cubic"}, where="augment.zoom")
Traceback (most recent call last):
...
microseg.errors.ConfigError: augment.zoom.mode: 'cubic' is not one of nearest, linear
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml

from microseg.errors import ConfigError, InputError

C = TypeVar("C")


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds of a number field, used as ``Annotated[float, Range(0, 1)]``: ``None`` leaves a
    side open-ended, ``low_open`` / ``high_open`` exclude the bound itself."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def check(self, value: float, where: str) -> None:
        """Raise :class:`ConfigError` naming ``where`` unless ``value`` lies within the bounds."""
        low = self.low is None or (value > self.low if self.low_open else value >= self.low)
        high = self.high is None or (value < self.high if self.high_open else value <= self.high)
        if not (low and high):
            raise ConfigError(f"{where}: must be {self}, got {value!r}")

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return (f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}"


@dataclasses.dataclass(frozen=True)
class Ordered:
    """A ``[low, high]`` pair with ``low <= high`` (``low < high`` when ``strict``), used as
    ``Annotated[tuple[float, float], Ordered()]``."""

    strict: bool = False

    def check(self, value: tuple[float, float] | list[float], where: str) -> None:
        """Raise :class:`ConfigError` naming ``where`` unless ``value`` is such a pair."""
        if len(value) != 2 or value[0] > value[1] or (self.strict and value[0] == value[1]):
            raise ConfigError(f"{where}: must be [low, high] with low {'<' if self.strict else '<='}"
                              f" high, got {list(value)}")


Probability = Annotated[float, Range(0, 1)]
Positive = Annotated[float, Range(0, low_open=True)]
NonNegative = Annotated[float, Range(0)]
Count = Annotated[int, Range(1)]                      # a whole number >= 1
Whole = Annotated[int, Range(0)]                      # a whole number >= 0
Interval = Annotated[tuple[float, float], Ordered()]  # [low, high]
PositiveInterval = Annotated[tuple[Positive, Positive], Ordered()]
Percent = Annotated[float, Range(0, 100)]


def check_choice(where: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise :class:`ConfigError` (``"where: 'x' is not one of a, b"``) unless ``value`` is one of
    ``choices`` (``True`` is not taken for ``1``)."""
    choices = list(choices)
    if not any(value == c and isinstance(value, bool) == isinstance(c, bool) for c in choices):
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}")


def from_dict(cls: type[C], data: Mapping[str, Any] | None, where: str | None = None) -> C:
    """Build dataclass ``cls`` from ``data``, each value checked by :func:`check_value`.

    ``where`` is the key path of ``data`` in error messages (default the class name; ``""``:
    the top level). Unknown keys are listed with the allowed ones; missing ones are named.
    """
    where = cls.__name__ if where is None else where
    if data is not None and not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'configuration'}: expected a mapping, got {data!r}")
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{_prefix(where)}unknown key(s) {unknown}; allowed: {sorted(fields)}")
    missing = [name for name, f in fields.items() if name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{_prefix(where)}missing key(s) {missing}")
    hints = _hints(cls)
    return cls(**{name: check_value(hints[name], value, _join(where, name))
                  for name, value in data.items()})


def check_fields(obj: Any, where: str) -> None:
    """Check every field of the dataclass instance ``obj`` as :func:`from_dict` checks its keys
    (and store the converted values, e.g. lists read as tuples): call it in ``__post_init__`` so
    that a dataclass built in Python is held to its types too."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        checked = check_value(hints[f.name], value, _join(where, f.name))
        if checked is not value:
            object.__setattr__(obj, f.name, checked)


def check_value(hint: Any, value: Any, where: str) -> Any:
    """``value`` checked against the type ``hint`` (and converted where YAML cannot say it: a
    list read as a tuple, an int or ``1e-4`` string read as a float, a mapping as a nested
    dataclass); :class:`ConfigError` naming ``where`` otherwise."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        value = check_value(args[0], value, where)
        for rule in hint.__metadata__:
            rule.check(value, where)
        return value
    if origin is Literal:
        check_choice(where, value, args)
        return value
    if origin in (typing.Union, types.UnionType):
        return _union(args, value, where)
    if dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return value                 # built (and checked) already
        if isinstance(value, Mapping):
            return from_dict(hint, value, where)
        raise ConfigError(f"{where}: expected a mapping, got {value!r}")
    if origin in (list, tuple):
        return _sequence(origin, args, value, where)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        key, item = args or (Any, Any)
        return {check_value(key, k, where): check_value(item, v, _join(where, str(k)))
                for k, v in value.items()}
    if hint in (float, int, bool, str):
        return _scalar(hint, value, where)
    return value


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _union(options: tuple[Any, ...], value: Any, where: str) -> Any:
    """``value`` checked against the first of ``options`` that accepts it."""
    if value is None and type(None) in options:
        return None
    options = tuple(o for o in options if o is not type(None))
    errors = []
    for option in options:
        try:
            return check_value(option, value, where)
        except ConfigError as exc:
            errors.append(exc)
    if len(options) == 1:
        raise errors[0]
    raise ConfigError(f"{where}: expected {' or '.join(_describe(o) for o in options)}, got "
                      f"{value!r}")


def _sequence(origin: type, args: tuple[Any, ...], value: Any, where: str) -> Any:
    """A list or tuple ``value`` checked item by item."""
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list, got {value!r}")
    if origin is list or (len(args) == 2 and args[1] is Ellipsis):
        items = [args[0] if args else Any] * len(value)
    elif args and len(args) != len(value):
        raise ConfigError(f"{where}: expected {len(args)} values, got {value!r}")
    else:
        items = list(args) or [Any] * len(value)
    checked = [check_value(h, v, f"{where}[{i}]") for i, (h, v) in enumerate(zip(items, value))]
    return checked if origin is list else tuple(checked)


def _describe(hint: Any) -> str:
    """A short name of a type for messages: ``int``, ``list``, a mapping, …"""
    hint = typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint) or origin is dict:
        return "a mapping"
    if origin in (list, tuple):
        return "a list"
    if origin is Literal:
        return " or ".join(map(repr, typing.get_args(hint)))
    return getattr(hint, "__name__", str(hint))


def _scalar(hint: type, value: Any, where: str) -> Any:
    """``value`` checked against the scalar type ``hint``; a float written as ``1e-4`` (a string
    to YAML 1.1, which wants ``1.0e-4``) is read as the number it means."""
    if hint is float and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
        return value
    raise ConfigError(f"{where}: must be {hint.__name__}, got {type(value).__name__} {value!r}")


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass → plain dict (YAML/JSON serialisable when the fields are)."""
    return dataclasses.asdict(obj)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing or malformed file raises :class:`InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "configuration file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                               f"{exc.start}); save the configuration as UTF-8") from None
    except OSError as exc:
        raise InputError(path, f"cannot read the configuration ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(path, "a configuration file must hold a mapping of keys to values")
    return data


def parse_assignment(item: str) -> tuple[str, Any]:
    """``"KEY=VALUE"`` (a command-line override) → ``(KEY, VALUE parsed as YAML)``."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"expected KEY=VALUE, got {item!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{item!r}: the value is not valid YAML ({exc})") from None


def with_overrides(data: dict[str, Any], items: list[str]) -> dict[str, Any]:
    """A copy of the mapping ``data`` with each ``"a.b.c=VALUE"`` of ``items`` set (missing
    levels are created)."""
    import copy

    data = copy.deepcopy(data)
    for item in items:
        key, value = parse_assignment(item)
        *parents, last = key.split(".")
        node = data
        for i, part in enumerate(parents):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{item!r}: {'.'.join(parents[:i + 1])} is not a mapping")
        node[last] = value
    return data
