"""One optimiser step over one or more minibatches, gradients accumulated (summed) in between.

With one minibatch this is an ordinary training step; with one minibatch per dataset it is
XB-Net's ``acc`` scheme: each minibatch's loss is back-propagated on its own (so only one
minibatch's activations are held at a time) and the optimiser steps once on the summed gradient.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from microseg.errors import MicrosegError
from microseg.losses import apply_loss


@dataclass
class Batch:
    """A minibatch: ``image`` float32 ``(N, C, *spatial)``; ``target`` int64 ``(N, *spatial)``
    classes (ignored = -100) or float32 ``(N, C, *spatial)`` maps, or a dict of those per head;
    ``weight`` (maps only) ``(N, C|1, *spatial)`` with 0 where ignored, or a dict, or None."""

    image: Tensor
    target: Tensor | dict[str, Tensor]
    weight: Tensor | dict[str, Tensor] | None = None

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    def to(self, device: torch.device) -> "Batch":
        """The batch with every tensor on ``device``."""
        return Batch(to_device(self.image, device), to_device(self.target, device),
                     to_device(self.weight, device))


def to_device(value: Any, device: torch.device) -> Any:
    """A tensor, a dict of tensors or None moved to ``device``."""
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return None if value is None else value.to(device, non_blocking=True)


@dataclass
class StepResult:
    """Loss of the step (sum over its minibatches) and per-term values when the loss has them."""

    loss: float
    components: dict[str, float] = field(default_factory=dict)
    images: int = 0


def accumulate_gradients(model: nn.Module, loss_fn: nn.Module, batches: Sequence[Batch],
                         channels_last: bool = False,
                         device: torch.device | None = None) -> StepResult:
    """Zero the gradients, then back-propagate each minibatch's loss in turn (gradients add up);
    batches are moved to ``device`` first when given."""
    model.zero_grad(set_to_none=True)
    total, components, images = 0.0, {}, 0
    for batch in batches:
        if device is not None:
            batch = batch.to(device)
        image = batch.image
        if channels_last and image.ndim == 4:
            image = image.contiguous(memory_format=torch.channels_last)
        loss = apply_loss(loss_fn, model(image), batch.target, batch.weight)
        if not torch.isfinite(loss):
            raise MicrosegError(f"training loss became {float(loss)}; lower the learning rate")
        loss.backward()
        total += float(loss.detach())
        for name, value in getattr(loss_fn, "components", {}).items():
            components[name] = components.get(name, 0.0) + value
        images += batch.size
    return StepResult(total, components, images)


def optimiser_step(model: nn.Module, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
                   batches: Sequence[Batch], channels_last: bool = False,
                   device: torch.device | None = None) -> StepResult:
    """:func:`accumulate_gradients` over ``batches``, then one ``optimizer.step()``."""
    result = accumulate_gradients(model, loss_fn, batches, channels_last, device)
    optimizer.step()
    return result
