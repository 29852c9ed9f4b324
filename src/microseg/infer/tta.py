"""Test-time augmentation over the 8 dihedral transforms of the last two axes (Y, X).

Each transformed copy is predicted, mapped back by the inverse transform, and the copies are
combined by ``mean`` or ``max`` (RC-SPCNet, 001_8efe375831c61076.txt). The maps must be scalar
fields (probabilities, distances), which the dihedral group moves without changing their values.
"""
from __future__ import annotations

from typing import Callable, Literal

import numpy as np

from microseg.config import check_choice

Combine = Literal["mean", "max"]
# (number of 90° rotations, flip along X after rotating)
DIHEDRAL: tuple[tuple[int, bool], ...] = tuple((k, flip) for flip in (False, True) for k in range(4))


def dihedral(array: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate the last two axes by ``k`` × 90° (counter-clockwise), then optionally flip X."""
    out = np.rot90(array, k, axes=(-2, -1))
    return out[..., ::-1] if flip else out


def dihedral_inverse(array: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Undo :func:`dihedral` with the same ``k`` and ``flip``."""
    out = array[..., ::-1] if flip else array
    return np.rot90(out, -k, axes=(-2, -1))


def with_tta(predict: Callable[[np.ndarray], np.ndarray],
             combine: Combine = "mean") -> Callable[[np.ndarray], np.ndarray]:
    """Wrap ``predict`` (``(N, C, ..., Y, X) → (N, K, ..., Y, X)``) with 8-fold dihedral TTA.

    Square inputs are sent as one batch of ``8 N``; non-square ones as two batches (the rotations
    by 90° and 270° swap Y and X).
    """
    check_choice("combine", combine, ("mean", "max"))

    def predict_tta(batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        groups: dict[tuple[int, ...], list[tuple[int, bool]]] = {}
        for k, flip in DIHEDRAL:
            groups.setdefault(dihedral(batch[:1], k, flip).shape, []).append((k, flip))
        combined: np.ndarray | None = None
        for transforms in groups.values():
            stacked = np.concatenate([np.ascontiguousarray(dihedral(batch, k, f))
                                      for k, f in transforms])
            maps = np.asarray(predict(stacked), dtype=np.float32)
            for i, (k, f) in enumerate(transforms):
                back = dihedral_inverse(maps[i * n:(i + 1) * n], k, f)
                if combined is None:
                    combined = back.copy()
                elif combine == "mean":
                    combined += back
                else:
                    np.maximum(combined, back, out=combined)
        assert combined is not None
        return combined / len(DIHEDRAL) if combine == "mean" else combined

    return predict_tta
