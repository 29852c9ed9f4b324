"""One shape for every labelled source: a named item that reads its (image, labels) on demand.

Each format module offers ``<format>_items(src, ...) -> list[LabelledItem]`` (listing is cheap, no
pixels are read); :mod:`microseg.io.convert` and the datasets build on that single shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Loader = Callable[[], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class LabelledItem:
    """``name`` is unique within its source and safe as a file stem; ``load()`` returns
    ``(image, labels)`` with labels of the image's spatial shape (image axes as read, e.g.
    ``(Y, X)``, ``(Y, X, 3)`` or ``(Z, Y, X)``); ``meta`` holds source details (frame, slice, …)."""

    name: str
    load: Loader
    meta: dict[str, Any] = field(default_factory=dict)
