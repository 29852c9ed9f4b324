"""`Sample`: one training/validation example held in memory, image and labels side by side."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from microseg.errors import InputError


@dataclass
class Sample:
    """An image with its instance labels.

    ``image``: float32 ``(C, Y, X)`` or ``(C, Z, Y, X)``, already normalised.
    ``labels``: unsigned ints ``(Y, X)`` / ``(Z, Y, X)``, 0 = background.
    ``ignore``: optional bool mask of the labels' shape; True where the label is unknown
    (e.g. an unannotated cell in sparse ground truth) so losses must skip those pixels.
    ``name``: unique within a dataset; ``group``: what must never be split apart (a sequence,
    a stage position, a stack); ``meta``: source details (``source``, ``kind``, ``path``,
    ``frame``, ``modality``, ``scale``, ``bright_background`` — the normalisation inverted the
    image —, parsed file-name fields, …).

    Construction checks dtypes and shapes and raises :class:`InputError` naming ``meta["path"]``.
    """

    image: np.ndarray
    labels: np.ndarray
    name: str
    group: str = ""
    ignore: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        path = self.meta.get("path")
        image, labels = np.asarray(self.image), np.asarray(self.labels)
        if image.ndim not in (3, 4) or image.dtype != np.float32:
            raise InputError(path, f"sample {self.name!r}: image must be float32 (C, Y, X) or "
                                   f"(C, Z, Y, X), got {image.dtype} {image.shape}")
        if labels.dtype.kind != "u":
            raise InputError(path, f"sample {self.name!r}: labels must be unsigned integers, "
                                   f"got {labels.dtype}")
        if labels.shape != image.shape[1:]:
            raise InputError(path, f"sample {self.name!r}: label shape {labels.shape} does not "
                                   f"match image shape {image.shape[1:]}")
        if self.ignore is not None:
            ignore = np.asarray(self.ignore)
            if ignore.dtype != bool or ignore.shape != labels.shape:
                raise InputError(path, f"sample {self.name!r}: ignore must be a bool mask of "
                                       f"shape {labels.shape}, got {ignore.dtype} {ignore.shape}")
            self.ignore = ignore
        self.image, self.labels = image, labels
        self.group = self.group or self.name

    @property
    def channels(self) -> int:
        return int(self.image.shape[0])

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self.labels.shape)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        extra = 0 if self.ignore is None else self.ignore.nbytes
        return int(self.image.nbytes + self.labels.nbytes + extra)


def summarize(samples: list[Sample]) -> dict[str, Any]:
    """Plain-dict summary of a list of samples per source (for checkpoints and logs): number of
    samples, objects, pixels, ignored pixels, channels, spatial dims and rescale factors."""
    per_source: dict[str, dict[str, Any]] = {}
    for s in samples:
        entry = per_source.setdefault(str(s.meta.get("source", "")), {
            "kind": s.meta.get("kind"), "samples": 0, "objects": 0, "pixels": 0,
            "ignored_pixels": 0, "channels": s.channels, "ndim": len(s.spatial_shape),
            "scales": set()})
        entry["samples"] += 1
        entry["objects"] += int(np.count_nonzero(np.bincount(s.labels.ravel())[1:]))
        entry["pixels"] += int(s.labels.size)
        entry["ignored_pixels"] += 0 if s.ignore is None else int(s.ignore.sum())
        entry["scales"].add(round(float(s.meta.get("scale", 1.0)), 6))
    for entry in per_source.values():
        entry["scales"] = sorted(entry["scales"])
    return {"samples": len(samples), "sources": per_source}
