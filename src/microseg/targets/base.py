"""The :class:`Target` base class and the registry that builds targets by name.

A target turns an instance label image ``(Y, X)`` or ``(Z, Y, X)`` (0 = background) into what a
network is trained on. Each target is a frozen dataclass whose fields are its parameters, so a
configuration dict builds it (:func:`build`) and :meth:`Target.config` writes it back.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from microseg.config import check_fields, from_dict
from microseg.errors import ConfigError, InputError
from microseg.io.images import as_labels
from microseg.registry import Registry

TARGETS: Registry[type["Target"]] = Registry("target")
#: The class index of pixels whose label is unknown in a ``classes`` target: the losses skip them
#: (torch's ``ignore_index`` default).
IGNORE_INDEX = -100


@dataclasses.dataclass(frozen=True)
class Target:
    """Base class: ``target(labels)`` validates the labels and calls :meth:`compute`.

    Class attributes set by each subclass:

    - ``name``: registry name.
    - ``kind``: ``"classes"`` (output int64 ``(*spatial)`` class indices, for cross-entropy) or
      ``"maps"`` (output float32 ``(C, *spatial)``).
    - ``channels``: number of classes (``"classes"``) or of maps (``"maps"``).
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    channels: ClassVar[int]

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        labels = check_labels(labels, self.name)
        out = self.compute(labels)
        if self.kind == "classes":
            return out.astype(np.int64, copy=False)
        out = out.astype(np.float32, copy=False)
        return out[None] if out.ndim == labels.ndim else out

    def compute(self, labels: np.ndarray) -> np.ndarray:
        """Target of checked labels (uint, 2D or 3D): class indices or maps (channel axis optional
        when there is one map)."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """``{"name": ..., **parameters}``; ``build(**target.config())`` rebuilds the target."""
        return {"name": self.name, **dataclasses.asdict(self)}

    def __post_init__(self) -> None:
        check_fields(self, f"target {self.name!r}")


def register(cls: type[Target]) -> type[Target]:
    """Class decorator: add a :class:`Target` subclass to :data:`TARGETS` under ``cls.name``."""
    TARGETS.register(cls.name)(cls)
    return cls


def available() -> list[str]:
    """Names of every registered target."""
    return TARGETS.available()


def build(name: str, **params: Any) -> Target:
    """Build target ``name`` with ``params``; unknown names, keys or bad values raise
    :class:`ConfigError`.

    >>> build("three_class", erosion=1).channels
    3
    """
    return from_dict(TARGETS.get(name), params, where=f"target {name!r}")


def check_labels(labels: np.ndarray, name: str) -> np.ndarray:
    """Return ``labels`` as a uint16/uint32 ``(Y, X)`` or ``(Z, Y, X)`` array, or raise
    :class:`InputError` saying which target rejected them and why."""
    labels = np.asarray(labels)
    if labels.ndim not in (2, 3):
        raise InputError(None, f"target {name!r}: labels must be (Y, X) or (Z, Y, X), "
                               f"got shape {labels.shape}")
    if labels.size == 0:
        raise InputError(None, f"target {name!r}: labels are empty (shape {labels.shape})")
    try:
        return as_labels(labels)
    except InputError as error:
        raise InputError(None, f"target {name!r}: {error.reason}") from None
