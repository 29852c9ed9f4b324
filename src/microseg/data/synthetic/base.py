"""What every synthetic generator shares: the ``GENERATORS`` registry, the :class:`Synthetic`
result, seeding and parameter checking."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple, TypeVar

import numpy as np

from microseg.config import from_dict
from microseg.errors import ConfigError
from microseg.registry import Registry

GENERATORS: Registry[Any] = Registry("synthetic generator")
"""Name → ``gen(seed: int = 0, **params)``; see :func:`microseg.data.synthetic.available`."""

C = TypeVar("C")


class Ellipsoid(NamedTuple):
    """A drawn ellipsoid in voxel units: voxel ``p`` (``(z, y, x)`` indices) is inside when
    ``(p - centre)ᵀ · matrix · (p - centre) ≤ 1``."""

    centre: np.ndarray
    matrix: np.ndarray


@dataclass(frozen=True, eq=False)
class Synthetic:
    """An image with exact ground truth.

    ``image``: ``(Y, X)`` or ``(Z, Y, X)`` (uint16 for light microscopy, uint8 for EM).
    ``labels``: instance labels of the same shape, uint16, ids ``1..N`` consecutive, 0 = background.
    ``polygons`` / ``ellipsoids``: the drawn objects in drawing order; object ``k`` (0-based) became
    label ``k + 1`` and later objects cover earlier ones where they overlap. Polygon vertices are
    ``(K, 2)`` float ``(row, col)`` pixel coordinates. Empty for generators that do not draw shapes.

    Unpacks as ``image, labels = sample``.
    """

    image: np.ndarray
    labels: np.ndarray
    polygons: tuple[np.ndarray, ...] = ()
    ellipsoids: tuple[Ellipsoid, ...] = ()

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.image, self.labels))


def make_config(cls: type[C], params: dict[str, Any], kind: str) -> C:
    """Build generator configuration ``cls`` from keyword ``params`` (unknown names → ConfigError)."""
    return from_dict(cls, params, where=f"synthetic {kind}")


def sample_seed(seed: int, index: int, stream: int = 0) -> int:
    """An independent seed for sample ``index`` of a set generated with ``seed`` (``stream``
    separates different uses, e.g. the image and its perturbation)."""
    entropy = [check_seed(seed), int(stream), int(index)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def check_seed(seed: Any) -> int:
    """``seed`` as a non-negative int; anything else raises ConfigError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"a seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_shape(kind: str, shape: Any, ndims: tuple[int, ...], minimum: int = 8) -> tuple[int, ...]:
    """``shape`` as a tuple of ints with ``len`` in ``ndims``, each ≥ ``minimum``; else ConfigError."""
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ConfigError(f"synthetic {kind}: shape must be a list of integers, got {shape!r}") from None
    if len(out) not in ndims or min(out) < minimum:
        raise ConfigError(f"synthetic {kind}: shape must have {' or '.join(map(str, ndims))} "
                          f"axes of at least {minimum} px, got {out}")
    return out


def registered(name: str, config_cls: type[C]) -> Callable[[Callable[[C, np.random.Generator], Any]],
                                                           Callable[..., Any]]:
    """Register ``build(config, rng)`` as generator ``name`` called as ``gen(seed=0, **params)``."""

    def decorator(build: Callable[[C, np.random.Generator], Any]) -> Callable[..., Any]:
        def generate(seed: int = 0, **params: Any) -> Any:
            config = make_config(config_cls, params, name)
            return build(config, np.random.default_rng(check_seed(seed)))

        generate.__name__ = name
        generate.__qualname__ = name
        generate.__doc__ = build.__doc__
        GENERATORS.register(name)(generate)
        return generate

    return decorator
