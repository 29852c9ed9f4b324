"""Which output activation turns a network's raw output into maps, per head.

Networks return raw outputs (logits); the predictor applies one activation per output head:

- ``softmax`` over the channel axis: class probabilities;
- ``sigmoid`` per channel: probabilities of independent maps;
- ``identity``: regressed values as they are.

The choice, in order of precedence:

1. ``meta.activation``: one name for every head, or a dict head → name;
2. else derived from the training target (``meta.target``, one target or ``{"heads": {head:
   target}}``): a ``classes`` target (``three_class``, ``fgbg``, ``pixelwise``) → ``softmax``;
   ``binary``, ``boundary`` and ``center_heatmap`` maps (trained with BCE / Dice / focal on
   logits) → ``sigmoid``; distance maps (``inner_distance``, ``outer_distance``, regressed with
   MSE) → ``identity``, or ``sigmoid`` when the training loss of that head was ``mse`` with
   ``activation: sigmoid``; any other map target → ``identity``;
3. else ``identity`` (a bare model without meta).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from microseg.config import check_choice
from microseg.errors import ConfigError
from microseg.models.meta import ModelMeta

ACTIVATIONS = ("softmax", "sigmoid", "identity")
SIGMOID_TARGETS = ("binary", "boundary", "center_heatmap")
DISTANCE_TARGETS = ("inner_distance", "outer_distance")


def check_activation(name: Any, where: str = "activation") -> str:
    """``name`` if it is one of :data:`ACTIVATIONS`, else :class:`ConfigError`."""
    check_choice(where, name, ACTIVATIONS)
    return str(name)


def _target_activation(target: Mapping[str, Any], loss: Mapping[str, Any] | None) -> str:
    """Activation for one target description ``{"name": ..., **params}``."""
    from microseg import targets

    name = target.get("name")
    if name not in targets.available():
        return "identity"
    if targets.TARGETS.get(name).kind == "classes":
        return "softmax"
    if name in SIGMOID_TARGETS:
        return "sigmoid"
    if name in DISTANCE_TARGETS and _mse_sigmoid(loss):
        return "sigmoid"
    return "identity"


def _mse_sigmoid(loss: Mapping[str, Any] | None) -> bool:
    """True when ``loss`` (a loss configuration) is ``mse`` with a sigmoid, alone or in a sum."""
    if not isinstance(loss, Mapping):
        return False
    params = loss.get("params") or {}
    if loss.get("name") == "mse":
        return params.get("activation") == "sigmoid"
    if loss.get("name") == "sum":
        return any(_mse_sigmoid(term) for term in params.get("terms", []))
    return False


def _training_loss(meta: ModelMeta) -> Mapping[str, Any]:
    """The loss configuration the model was trained with (empty when not recorded)."""
    return (((meta.training or {}).get("config") or {}).get("loss")) or {}


def resolve_activations(meta: ModelMeta, heads: list[str | None]) -> dict[str | None, str]:
    """Activation per head (``None`` = the single output of a one-head model); see the module
    docstring for the rules. Unknown names raise :class:`ConfigError`."""
    given = meta.activation
    if isinstance(given, str):
        return {h: check_activation(given) for h in heads}
    if isinstance(given, Mapping):
        missing = [h for h in heads if h not in given]
        if missing:
            raise ConfigError(f"activation: no entry for head(s) {missing}; given for "
                              f"{sorted(given)}")
        return {h: check_activation(given[h], f"activation[{h!r}]") for h in heads}
    if given is not None:
        raise ConfigError(f"activation must be a name or a dict head → name, got {given!r}")
    target = meta.target
    if target is None:
        return {h: "identity" for h in heads}
    loss = _training_loss(meta)
    if "heads" in target:
        head_losses = {}
        if loss.get("name") == "heads":
            head_losses = (loss.get("params") or {}).get("heads") or {}
        return {h: _target_activation(target["heads"].get(h, {}), head_losses.get(h))
                for h in heads}
    return {h: _target_activation(target, loss) for h in heads}


def activate(output: torch.Tensor, activation: str) -> torch.Tensor:
    """Apply ``activation`` to ``(N, K, *spatial)`` raw outputs."""
    if activation == "softmax":
        return torch.softmax(output, dim=1)
    if activation == "sigmoid":
        return torch.sigmoid(output)
    return output
