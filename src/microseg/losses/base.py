"""Shared pieces of the losses: the registry, input checks and masked reductions.

Two kinds of target exist (see ``microseg.targets``):

* **classes**: ``target`` int64 ``(N, *spatial)`` with class indices; pixels equal to
  ``ignore_index`` (default -100) do not count. ``prediction`` holds logits ``(N, C, *spatial)``.
  An optional pixel ``weight`` ``(N, 1, *spatial)`` (or ``(N, *spatial)``) scales each pixel.
* **maps**: ``target`` float ``(N, C, *spatial)``; an optional ``weight`` map broadcastable to the
  target scales each pixel's contribution, 0 = ignored. ``prediction`` ``(N, C, *spatial)``.
"""
from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from microseg.errors import ConfigError, InputError
from microseg.registry import Registry
from microseg.targets.base import IGNORE_INDEX

LOSSES: Registry[nn.Module] = Registry("loss")


def build_loss(name: str, params: dict[str, Any]) -> nn.Module:
    """Build registered loss ``name``; unknown names or parameters raise :class:`ConfigError`."""
    builder = LOSSES.get(name)
    try:
        inspect.signature(builder).bind(**params)
    except TypeError as exc:
        raise ConfigError(f"loss {name!r}: {exc}") from None
    return builder(**params)


def check_classes(prediction: Tensor, target: Tensor, name: str) -> None:
    """Raise :class:`InputError` unless ``target`` holds class indices matching ``prediction``."""
    if target.is_floating_point() or target.is_complex():
        raise InputError(None, f"loss {name!r}: class target must be integer, got {target.dtype}")
    spatial = prediction.shape[:1] + prediction.shape[2:]
    if prediction.ndim != target.ndim + 1 or spatial != target.shape:
        raise InputError(
            None,
            f"loss {name!r}: prediction {tuple(prediction.shape)} (N, C, *spatial) does not match "
            f"class target {tuple(target.shape)} (N, *spatial)",
        )


def check_maps(prediction: Tensor, target: Tensor, weight: Tensor | None, name: str) -> None:
    """Raise :class:`InputError` unless ``target`` (and ``weight``) are maps matching
    ``prediction``."""
    if prediction.shape != target.shape:
        raise InputError(
            None,
            f"loss {name!r}: prediction {tuple(prediction.shape)} and map target "
            f"{tuple(target.shape)} differ in shape",
        )
    if weight is not None:
        try:
            torch.broadcast_shapes(weight.shape, target.shape)
        except RuntimeError:
            raise InputError(
                None,
                f"loss {name!r}: weight map {tuple(weight.shape)} does not broadcast to "
                f"target {tuple(target.shape)}",
            ) from None


def pixel_weight(target: Tensor, weight: Tensor | None, ignore_index: int, name: str) -> Tensor:
    """Per-pixel weight ``(N, *spatial)`` of a class target: ``weight`` (default 1) times 0 on
    ``ignore_index`` pixels. ``weight`` is ``(N, 1, *spatial)`` or broadcastable to the target."""
    valid = (target != ignore_index).to(torch.float32)
    if weight is None:
        return valid
    if weight.ndim == target.ndim + 1 and weight.shape[1] == 1:
        weight = weight.squeeze(1)
    try:
        return torch.broadcast_to(weight.to(torch.float32), target.shape) * valid
    except RuntimeError:
        raise InputError(
            None,
            f"loss {name!r}: weight map {tuple(weight.shape)} does not fit class target "
            f"{tuple(target.shape)}",
        ) from None


def valid_one_hot(target: Tensor, channels: int, ignore_index: int,
                  weight: Tensor | None = None, name: str = "loss") -> tuple[Tensor, Tensor]:
    """One-hot ``(N, C, *spatial)`` float encoding of ``target`` and the mask ``(N, 1, *spatial)``.

    Ignored pixels get an all-zero one-hot vector and a 0 in the mask; with a pixel ``weight``
    (see :func:`pixel_weight`) both are scaled by it. A class index outside ``[0, channels)``
    that is not ``ignore_index`` raises :class:`InputError`.
    """
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    if safe.numel() and (int(safe.min()) < 0 or int(safe.max()) >= channels):
        raise InputError(
            None,
            f"class target holds values outside [0, {channels}) other than ignore_index "
            f"{ignore_index}: min {int(target.min())}, max {int(target.max())}",
        )
    one_hot = nn.functional.one_hot(safe, channels).movedim(-1, 1).to(torch.float32)
    mask = pixel_weight(target, weight, ignore_index, name).unsqueeze(1)
    return one_hot * mask, mask


def weighted_mean(values: Tensor, weight: Tensor | None) -> Tensor:
    """``sum(weight * values) / sum(weight)``; plain mean when ``weight`` is None.

    When every weight is 0 the result is a zero that keeps the graph (so ``backward`` works).
    """
    if weight is None:
        return values.mean()
    weight = torch.broadcast_to(weight.to(values.dtype), values.shape)
    total = weight.sum()
    if float(total) == 0.0:
        return (values * weight).sum()
    return (values * weight).sum() / total


def spatial_dims(tensor: Tensor) -> tuple[int, ...]:
    """Indices of the spatial axes of a ``(N, C, *spatial)`` tensor."""
    return tuple(range(2, tensor.ndim))
