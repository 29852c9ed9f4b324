"""Configuration as data: dataclasses built from YAML/dicts with unknown keys rejected."""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from microseg.errors import ConfigError, InputError

C = TypeVar("C")


def from_dict(cls: type[C], data: dict[str, Any] | None, where: str = "") -> C:
    """Build dataclass ``cls`` from ``data``, recursing into nested dataclass fields.

    Unknown keys raise :class:`ConfigError` naming the key and the allowed ones.
    """
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where or cls.__name__}: unknown key(s) {unknown}; allowed: {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _convert(hints[name], value, f"{where or cls.__name__}.{name}")
    return cls(**kwargs)


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        if len(inner) == 1:
            return _convert(inner[0], value, where)
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return from_dict(hint, value, where)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(hint) or (Any,)
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint in (float, int, bool, str):
        return _scalar(hint, value, where)
    return value


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
    raise ConfigError(f"{where} must be {hint.__name__}, got {type(value).__name__} "
                      f"{value!r}")


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
