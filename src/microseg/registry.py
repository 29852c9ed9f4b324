"""Name → builder registries, so a configuration string picks an architecture, loss, target, …"""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from microseg.config import check_choice

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of builders.

    >>> losses = Registry("loss")
    >>> @losses.register("mse")
    ... def build_mse(): ...
    >>> losses.available()
    ['mse']
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._builders: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(builder: Callable[..., T]) -> Callable[..., T]:
            if name in self._builders:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._builders[name] = builder
            return builder

        return decorator

    def available(self) -> list[str]:
        return sorted(self._builders)

    def get(self, name: str) -> Callable[..., T]:
        check_choice(self.kind, name, self.available())
        return self._builders[name]

    def build(self, name: str, **config: Any) -> T:
        return self.get(name)(**config)

    def __contains__(self, name: str) -> bool:
        return name in self._builders
