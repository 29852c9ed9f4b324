"""Turn a training checkpoint into a bundled one: weights and meta only, optionally float16.

    microseg models pack runs/isbi/best.pt src/microseg/zoo/weights/em-membrane.pt --half

Training checkpoints carry optimiser and scheduler state (``last.pt`` about three times the
weights); a bundled model needs none of it. ``half`` stores floating-point weights as float16,
halving the file (the model is rebuilt in float32 when loaded, so inference is unchanged apart
from the rounding of the weights, ~1e-3 relative).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from microseg.models.checkpoint import load_checkpoint, save_checkpoint


def pack_checkpoint(source: str | Path, target: str | Path, *, half: bool = False) -> Path:
    """Write ``source``'s model and meta (no trainer state) to ``target``; returns ``target``."""
    model, meta, _ = load_checkpoint(source)
    if half:
        model = model.to(torch.float16)
    return save_checkpoint(target, model, dataclasses.replace(
        meta, packed_from=Path(source).name, weights_dtype="float16" if half else "float32"))
