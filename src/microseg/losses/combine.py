"""Weighted sums of losses: several terms on one output (``sum``) or one term per head (``heads``).

A term is written as a mapping ``{"name": <loss>, "weight": <float, default 1>, "params": {...}}``.

XB-Net (CE with weights (1, 10, 5) + J-regularisation, equal weights)::

    {"name": "sum", "terms": [{"name": "weighted_ce"}, {"name": "jreg"}]}

Mesmer (0.01 x softmax CE on the pixel-wise head + MSE on the inner-distance head)::

    {"name": "heads", "heads": {"pixelwise": {"name": "ce", "weight": 0.01},
                                "inner_distance": {"name": "mse"}}}
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from torch import Tensor, nn

from microseg.errors import ConfigError, InputError
from microseg.losses.base import LOSSES, build_loss

TERM_KEYS = {"name", "weight", "params"}


def _build_term(spec: Mapping[str, Any], where: str) -> tuple[str, float, nn.Module]:
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ConfigError(f"{where}: a term is a mapping with 'name' (and optional weight, params)")
    unknown = sorted(set(spec) - TERM_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(TERM_KEYS)}")
    weight = float(spec.get("weight", 1.0))
    params = dict(spec.get("params") or {})
    return str(spec["name"]), weight, build_loss(str(spec["name"]), params)


def apply_loss(loss: nn.Module, prediction: Any, target: Any, weight: Any = None) -> Tensor:
    """Call ``loss`` with the pixel weight map only when there is one."""
    if weight is None:
        return loss(prediction, target)
    return loss(prediction, target, weight)


@LOSSES.register("sum")
class WeightedSum(nn.Module):
    """``sum_j weight_j * loss_j(prediction, target)`` over terms on the same output.

    After each call ``components`` maps each term's name to its (unweighted) value, for logging.
    """

    def __init__(self, terms: Sequence[Mapping[str, Any]]):
        super().__init__()
        if not terms:
            raise ConfigError("loss 'sum': needs at least one term")
        built = [_build_term(spec, f"loss 'sum' term {i}") for i, spec in enumerate(terms)]
        names = [name for name, _, _ in built]
        self.names = [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]
        self.factors = [w for _, w, _ in built]
        self.terms = nn.ModuleList(loss for _, _, loss in built)
        self.components: dict[str, float] = {}

    @property
    def component_names(self) -> list[str]:
        return list(self.names)

    def forward(self, prediction: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        total: Tensor | None = None
        components = {}
        for name, factor, loss in zip(self.names, self.factors, self.terms):
            value = apply_loss(loss, prediction, target, weight)
            components[name] = float(value.detach())
            total = factor * value if total is None else total + factor * value
        self.components = components
        assert total is not None
        return total


@LOSSES.register("heads")
class HeadsLoss(nn.Module):
    """``sum_h weight_h * loss_h(prediction[h], target[h])`` for a multi-head model's dict output.

    ``weight`` (optional) is a dict of per-head weight maps; heads without one are unweighted.
    After each call ``components`` maps each head to its (unweighted) loss value.
    """

    def __init__(self, heads: Mapping[str, Mapping[str, Any]]):
        super().__init__()
        if not heads:
            raise ConfigError("loss 'heads': needs at least one head")
        built = {head: _build_term(spec, f"loss 'heads' head {head!r}")
                 for head, spec in heads.items()}
        self.factors = {head: w for head, (_, w, _) in built.items()}
        self.losses = nn.ModuleDict({head: loss for head, (_, _, loss) in built.items()})
        self.components: dict[str, float] = {}

    @property
    def component_names(self) -> list[str]:
        return list(self.losses)

    def forward(
        self,
        prediction: Mapping[str, Tensor],
        target: Mapping[str, Tensor],
        weight: Mapping[str, Tensor] | None = None,
    ) -> Tensor:
        if not isinstance(prediction, Mapping) or not isinstance(target, Mapping):
            raise InputError(None,
                             "loss 'heads': prediction and target must be dicts keyed by head")
        missing = [h for h in self.losses if h not in prediction or h not in target]
        if missing:
            raise InputError(
                None,
                f"loss 'heads': head(s) {missing} missing; prediction has {sorted(prediction)}, "
                f"target has {sorted(target)}",
            )
        total: Tensor | None = None
        components = {}
        for head, loss in self.losses.items():
            head_weight = None if weight is None else weight.get(head)
            value = apply_loss(loss, prediction[head], target[head], head_weight)
            components[head] = float(value.detach())
            term = self.factors[head] * value
            total = term if total is None else total + term
        self.components = components
        assert total is not None
        return total
