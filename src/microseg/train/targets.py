"""Training targets for one output, or one per head of a multi-head model.

``TargetConfig(name, params)`` builds one :mod:`microseg.targets` target; ``TargetConfig(heads=
{head: {name, params}})`` builds a dict of them, one per head (Mesmer: ``pixelwise`` classes +
``inner_distance`` map), which :class:`microseg.data.datasets.TrainingDataset` accepts as is.
"""
from __future__ import annotations

from typing import Any, Mapping, Union

from microseg import targets
from microseg.errors import ConfigError
from microseg.targets import Target

TargetSpec = Union[Target, Mapping[str, Target]]


def build_target(name: str, params: dict[str, Any], heads: dict[str, Any] | None) -> TargetSpec:
    """A :mod:`microseg.targets` target, or a dict head → target when ``heads`` is given."""
    if heads is None:
        return targets.build(name, **params)
    if not heads:
        raise ConfigError("target heads: at least one head is needed")
    built = {}
    for head, spec in heads.items():
        if not isinstance(spec, dict) or "name" not in spec or set(spec) - {"name", "params"}:
            raise ConfigError(
                f"target head {head!r}: expected {{name: ..., params: {{...}}}}, got {spec!r}")
        built[head] = targets.build(spec["name"], **dict(spec.get("params") or {}))
    return built


def describe(target: TargetSpec) -> dict[str, Any]:
    """Plain-data description for checkpoints: ``target.config()`` or ``{"heads": {...}}``."""
    if isinstance(target, Mapping):
        return {"heads": {head: t.config() for head, t in target.items()}}
    return target.config()


def output_channels(target: TargetSpec) -> int | dict[str, int]:
    """Channels the network must output: one count, or one per head."""
    if isinstance(target, Mapping):
        return {head: t.channels for head, t in target.items()}
    return target.channels

