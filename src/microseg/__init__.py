"""microseg: microscopy images → per-pixel maps → cell instances → measurements.

>>> import microseg as ms
>>> ms.metrics.seg_score([[0, 1, 1]], [[0, 1, 1]])
1.0

Submodules load on first use (``ms.metrics``, ``ms.io``, ``ms.post.graph``, …), so ``import
microseg`` is fast and imports no torch. ``ms.segment``, ``ms.load_model`` and ``ms.read_image``
are the functions of :mod:`microseg.pipelines.cells`, :mod:`microseg.pipelines.model` and
:mod:`microseg.io.images`. The layers, low to high (a lower one never imports a higher one): io,
preprocess → data, targets, augment → models, losses → infer → post → metrics, measure, track →
train, zoo → pipelines.
"""
from __future__ import annotations

import importlib
from typing import Any

from microseg.version import __version__

#: Submodules reachable as attributes of the package, imported on first use.
SUBMODULES = ("augment", "config", "data", "errors", "infer", "io", "losses", "malloc",
              "measure", "metrics", "models", "pipelines", "post", "preprocess", "scale",
              "targets", "track", "train", "zoo")
#: Functions reachable as attributes of the package → the module defining them.
FUNCTIONS = {"segment": "microseg.pipelines.cells", "load_model": "microseg.pipelines.model",
             "read_image": "microseg.io.images"}


def __getattr__(name: str) -> Any:
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in FUNCTIONS:
        value = getattr(importlib.import_module(FUNCTIONS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *SUBMODULES, *FUNCTIONS})


__all__ = ["__version__", "load_model", "read_image", "segment"]
