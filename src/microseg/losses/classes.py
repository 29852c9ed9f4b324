"""Losses on class targets: (weighted) cross-entropy and J-regularisation.

``prediction``: logits ``(N, C, *spatial)``; ``target``: int64 class indices ``(N, *spatial)``,
``ignore_index`` pixels excluded.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from microseg.errors import ConfigError, InputError
from microseg.losses.base import IGNORE_INDEX, LOSSES, check_classes, pixel_weight, valid_one_hot

XBNET_CLASS_WEIGHTS = (1.0, 10.0, 5.0)  # background, boundary, cell (XB-Net, Guo et al. 2021)


def _class_vector(values: Sequence[float] | None, name: str) -> Tensor | None:
    if values is None:
        return None
    vector = torch.as_tensor(list(values), dtype=torch.float32)
    if vector.ndim != 1 or vector.numel() == 0 or bool((vector < 0).any()):
        raise ConfigError(f"loss {name!r}: class weights must be a non-empty list of numbers >= 0")
    return vector


def _check_class_count(vector: Tensor | None, channels: int, name: str) -> None:
    if vector is not None and vector.numel() != channels:
        raise InputError(
            None, f"loss {name!r}: {vector.numel()} class weights for a {channels}-class prediction"
        )


def _zero(prediction: Tensor) -> Tensor:
    """A zero loss that keeps ``prediction`` in the graph (every pixel ignored)."""
    return prediction.sum() * 0.0


class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy with optional class weights.

    With class weights ``w`` and pixel weights ``omega`` (default 1) the value is
    ``sum_p omega_p w[t_p] * -log softmax(x_p)[t_p] / sum_p omega_p w[t_p]`` over the non-ignored
    pixels ``p`` (with ``omega = 1`` the convention of ``torch.nn.functional.cross_entropy``).
    """

    def __init__(
        self,
        weights: Sequence[float] | None = None,
        ignore_index: int = IGNORE_INDEX,
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(
                f"loss 'ce': label_smoothing must be in [0, 1), got {label_smoothing}")
        self.register_buffer("weights", _class_vector(weights, "ce"))
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, prediction: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        check_classes(prediction, target, "ce")
        _check_class_count(self.weights, prediction.shape[1], "ce")
        omega = pixel_weight(target, weight, self.ignore_index, "ce")
        values = nn.functional.cross_entropy(
            prediction.float(),
            target.long(),
            weight=self.weights,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction="none",
        )
        if self.weights is not None:
            safe = torch.where(target != self.ignore_index, target, torch.zeros_like(target)).long()
            omega_total = (omega * self.weights[safe]).sum()
        else:
            omega_total = omega.sum()
        if float(omega_total) == 0.0:
            return _zero(prediction)
        return (values * omega).sum() / omega_total


LOSSES.register("ce")(CrossEntropyLoss)


@LOSSES.register("weighted_ce")
def build_weighted_ce(
    weights: Sequence[float] = XBNET_CLASS_WEIGHTS,
    ignore_index: int = IGNORE_INDEX,
    label_smoothing: float = 0.0,
) -> CrossEntropyLoss:
    """Cross-entropy with XB-Net's default class weights (1, 10, 5) for bg, boundary, cell."""
    return CrossEntropyLoss(weights, ignore_index, label_smoothing)


@LOSSES.register("jreg")
class JRegularization(nn.Module):
    """J-regularisation (Guerrero-Peña et al., ISBI 2020), used with weighted CE in XB-Net.

    Per image and ordered class pair ``(i, k)``, ``i != k``, both present in the image:
    ``alpha_i = mean_{p in class i} P_i(p)`` (sensitivity of class ``i``) and
    ``beta_ik = mean_{p in class k} (1 - P_i(p))`` (specificity of class ``i`` against ``k``), so
    ``alpha_i + beta_ik - 1`` is Youden's J statistic of the pair. The loss is
    ``-lambda_ik * log((alpha_i + beta_ik) / 2)`` averaged over the valid pairs of every image:
    0 for a perfect prediction, ``log 2`` for an uninformative one. ``pair_weights`` is a scalar or
    a ``(C, C)`` matrix ``lambda``. A pixel ``weight`` turns the class means into weighted means.
    """

    def __init__(
        self,
        pair_weights: float | Sequence[Sequence[float]] = 1.0,
        ignore_index: int = IGNORE_INDEX,
        eps: float = 1e-7,
    ):
        super().__init__()
        weights = torch.as_tensor(pair_weights, dtype=torch.float32)
        if weights.ndim not in (0, 2) or bool((weights < 0).any()):
            raise ConfigError("loss 'jreg': pair_weights must be a number or a (C, C) matrix, >= 0")
        self.register_buffer("pair_weights", weights)
        self.ignore_index = int(ignore_index)
        self.eps = float(eps)

    def forward(self, prediction: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        check_classes(prediction, target, "jreg")
        n, channels = prediction.shape[:2]
        if self.pair_weights.ndim == 2 and tuple(self.pair_weights.shape) != (channels, channels):
            raise InputError(
                None,
                f"loss 'jreg': pair_weights {tuple(self.pair_weights.shape)} for a "
                f"{channels}-class prediction",
            )
        one_hot, _ = valid_one_hot(target, channels, self.ignore_index, weight, "jreg")
        probs = torch.softmax(prediction.float(), dim=1).reshape(n, channels, -1)
        one_hot = one_hot.reshape(n, channels, -1)
        counts = one_hot.sum(dim=2)  # (N, C) pixels per class
        phi = one_hot / counts.clamp(min=1.0).unsqueeze(2)  # mean operator over each class
        alpha = (probs * phi).sum(dim=2)  # (N, C): alpha_i
        beta = torch.einsum("nis,nks->nik", 1.0 - probs, phi)  # (N, C, C): beta_ik
        terms = -torch.log(((alpha.unsqueeze(2) + beta) / 2.0).clamp(min=self.eps))
        present = counts > 0
        valid = present.unsqueeze(2) & present.unsqueeze(1)
        valid &= ~torch.eye(channels, dtype=torch.bool, device=valid.device)
        if not bool(valid.any()):
            return _zero(prediction)
        lam = torch.broadcast_to(self.pair_weights.to(terms.dtype), terms.shape)
        return (lam * terms)[valid].sum() / valid.sum()
