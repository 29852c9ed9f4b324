"""Losses on map targets: binary cross-entropy and mean squared error.

``prediction`` and ``target``: ``(N, C, *spatial)``; ``weight``: optional map broadcastable to the
target, each pixel's contribution scaled by it (0 = ignored); the mean is
``sum(weight * loss) / sum(weight)``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from microseg.config import check_choice
from microseg.errors import ConfigError
from microseg.losses.base import LOSSES, check_maps, weighted_mean


@LOSSES.register("bce")
class BCELoss(nn.Module):
    """Binary cross-entropy on logits (sigmoid inside), e.g. the protoplast U-Net's foreground map.

    ``pos_weight`` multiplies the loss of the positive part of the target (``t log p``).
    """

    def __init__(self, pos_weight: float | None = None):
        super().__init__()
        if pos_weight is not None and pos_weight <= 0:
            raise ConfigError(f"loss 'bce': pos_weight must be > 0, got {pos_weight}")
        self.pos_weight = pos_weight

    def forward(self, prediction: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        check_maps(prediction, target, weight, "bce")
        pos_weight = None
        if self.pos_weight is not None:
            pos_weight = torch.tensor(self.pos_weight, dtype=torch.float32,
                                      device=prediction.device)
        values = nn.functional.binary_cross_entropy_with_logits(
            prediction.float(), target.float(), pos_weight=pos_weight, reduction="none"
        )
        return weighted_mean(values, weight)


@LOSSES.register("mse")
class MSELoss(nn.Module):
    """Mean squared error, e.g. for distance maps (Mesmer's inner distance head, RC-SPCNet).

    ``activation="sigmoid"`` squashes the prediction to (0, 1) first (for targets in [0, 1]).
    """

    def __init__(self, activation: str = "none"):
        super().__init__()
        check_choice("loss 'mse': activation", activation, ("none", "sigmoid"))
        self.activation = activation

    def forward(self, prediction: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        check_maps(prediction, target, weight, "mse")
        values = prediction.float()
        if self.activation == "sigmoid":
            values = torch.sigmoid(values)
        return weighted_mean((values - target.float()) ** 2, weight)
