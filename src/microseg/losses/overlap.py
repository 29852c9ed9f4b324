"""Losses that work on both target kinds: soft Dice and focal.

Class targets (integer ``(N, *spatial)``) use a softmax over the ``C`` logits and a one-hot target
with ``ignore_index`` pixels dropped; map targets (float ``(N, C, *spatial)``) use a per-channel
sigmoid. Both take an optional pixel weight map (0 = ignored).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from microseg.config import check_choice
from microseg.errors import ConfigError, InputError
from microseg.losses.base import (
    IGNORE_INDEX,
    LOSSES,
    check_classes,
    check_maps,
    pixel_weight,
    spatial_dims,
    valid_one_hot,
    weighted_mean,
)

ACTIVATIONS = ("auto", "softmax", "sigmoid", "none")


def _probabilities(prediction: Tensor, classes: bool, activation: str) -> Tensor:
    if activation == "auto":
        activation = "softmax" if classes else "sigmoid"
    if activation == "softmax":
        return torch.softmax(prediction, dim=1)
    if activation == "sigmoid":
        return torch.sigmoid(prediction)
    return prediction


@LOSSES.register("dice")
class DiceLoss(nn.Module):
    """Soft multi-class Dice loss: ``1 - mean_c (2 sum P_c T_c + s) / (sum P_c + sum T_c + s)``.

    Sums run over the batch and all pixels (``per_image=False``) or over each image's pixels,
    the Dice then averaged over images and classes (``per_image=True``). ``smooth`` ``s`` keeps
    empty classes finite. ``include_background=False`` drops channel 0.
    """

    def __init__(
        self,
        smooth: float = 1.0,
        include_background: bool = True,
        per_image: bool = False,
        activation: str = "auto",
        ignore_index: int = IGNORE_INDEX,
    ):
        super().__init__()
        check_choice("loss 'dice': activation", activation, ACTIVATIONS)
        if smooth < 0:
            raise ConfigError(f"loss 'dice': smooth must be >= 0, got {smooth}")
        self.smooth = float(smooth)
        self.include_background = bool(include_background)
        self.per_image = bool(per_image)
        self.activation = activation
        self.ignore_index = int(ignore_index)

    def forward(self, prediction: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        classes = not target.is_floating_point()
        if classes:
            check_classes(prediction, target, "dice")
            truth, mask = valid_one_hot(target, prediction.shape[1], self.ignore_index, weight,
                                        "dice")
        else:
            check_maps(prediction, target, weight, "dice")
            truth = target.float()
            mask = (torch.ones_like(truth) if weight is None
                    else torch.broadcast_to(weight, truth.shape))
        probs = _probabilities(prediction.float(), classes, self.activation) * mask
        truth = truth * mask
        if not self.include_background:
            if prediction.shape[1] < 2:
                raise InputError(None, "loss 'dice': include_background=False needs >= 2 channels")
            probs, truth = probs[:, 1:], truth[:, 1:]
        dims = spatial_dims(probs) if self.per_image else (0, *spatial_dims(probs))
        intersection = (probs * truth).sum(dim=dims)
        denominator = probs.sum(dim=dims) + truth.sum(dim=dims)
        dice = (2.0 * intersection + self.smooth) / (denominator + self.smooth).clamp(min=1e-12)
        return 1.0 - dice.mean()


@LOSSES.register("focal")
class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017): ``-alpha_t (1 - p_t)^gamma log p_t``, averaged over pixels.

    Class targets: ``p_t`` is the softmax probability of the true class and ``alpha`` an optional
    list of per-class weights. Map targets (e.g. a cell-centre heatmap in [0, 1]):
    ``p_t = p t + (1 - p)(1 - t)`` with ``p = sigmoid(x)``, ``-log p_t`` replaced by the binary
    cross-entropy (exact for soft targets) and ``alpha`` an optional weight of the positives,
    ``alpha_t = alpha t + (1 - alpha)(1 - t)``.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        ignore_index: int = IGNORE_INDEX,
    ):
        super().__init__()
        if gamma < 0:
            raise ConfigError(f"loss 'focal': gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)
        self.alpha = alpha
        self.ignore_index = int(ignore_index)

    def forward(self, prediction: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        if target.is_floating_point():
            return self._maps(prediction, target, weight)
        return self._classes(prediction, target, weight)

    def _classes(self, prediction: Tensor, target: Tensor, weight: Tensor | None) -> Tensor:
        check_classes(prediction, target, "focal")
        if self.alpha is not None and not isinstance(self.alpha, Sequence):
            raise ConfigError("loss 'focal': with class targets alpha is a list of class weights")
        omega = pixel_weight(target, weight, self.ignore_index, "focal")
        if float(omega.sum()) == 0.0:
            return prediction.sum() * 0.0
        valid = target != self.ignore_index
        safe = torch.where(valid, target, torch.zeros_like(target)).long().unsqueeze(1)
        log_pt = torch.log_softmax(prediction.float(), dim=1).gather(1, safe).squeeze(1)
        values = -((1.0 - log_pt.exp()) ** self.gamma) * log_pt
        if self.alpha is not None:
            alpha = torch.as_tensor(list(self.alpha), dtype=values.dtype, device=values.device)
            if alpha.numel() != prediction.shape[1]:
                raise InputError(
                    None,
                    f"loss 'focal': {alpha.numel()} alpha values for {prediction.shape[1]} classes",
                )
            values = values * alpha[safe.squeeze(1)]
        return (values * omega).sum() / omega.sum()

    def _maps(self, prediction: Tensor, target: Tensor, weight: Tensor | None) -> Tensor:
        check_maps(prediction, target, weight, "focal")
        if self.alpha is not None and isinstance(self.alpha, Sequence):
            raise ConfigError("loss 'focal': with map targets alpha is one number in [0, 1]")
        logits, truth = prediction.float(), target.float()
        bce = nn.functional.binary_cross_entropy_with_logits(logits, truth, reduction="none")
        p = torch.sigmoid(logits)
        p_t = p * truth + (1.0 - p) * (1.0 - truth)
        values = (1.0 - p_t) ** self.gamma * bce
        if self.alpha is not None:
            values = values * (self.alpha * truth + (1.0 - self.alpha) * (1.0 - truth))
        return weighted_mean(values, weight)
