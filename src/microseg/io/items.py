"""One shape for every labelled source: a named item that reads its (image, labels) on demand.

Each format module offers ``<format>_items(src, ...) -> list[LabelledItem]`` (listing is cheap, no
pixels are read); :mod:`microseg.io.convert` and the training sources (:mod:`microseg.data.sources`)
build on that single shape.
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
    ``(Y, X)``, ``(Y, X, 3)`` or ``(Z, Y, X)``); ``meta`` holds source details (frame, slice, …).

    ``group``: what must never be split apart (a sequence; the name when not given);
    ``position``: the item's index along its sequence or stack (frame ``t``, slice ``z``), None
    when unordered; ``ignore()``: None or a bool mask of the labels' shape, True where the label
    is unknown (sparse ground truth); ``intensity_range()``: ``(min, max)`` over the whole
    sequence or stack the item belongs to, for per-sequence normalisation (None: not part of
    one).
    """

    name: str
    load: Loader
    meta: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    position: int | None = None
    ignore: Callable[[], np.ndarray | None] | None = None
    intensity_range: Callable[[], tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", self.name)
