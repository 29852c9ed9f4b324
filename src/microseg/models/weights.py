"""Load pretrained (e.g. ImageNet) encoder weights from a local file — never from the network.

Accepted files hold a state dict saved with ``torch.save`` (optionally wrapped under a
``"state_dict"`` or ``"model"`` key, optionally with ``"module."`` prefixes) in timm naming
(``conv_stem.weight``, ``blocks.0.0.conv_dw.weight``, …) or in torchvision's EfficientNet naming
(``features.0.0.weight``, ``features.1.0.block.0.0.weight``, …), which is mapped to timm's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from microseg.errors import InputError

# torchvision MBConv sub-block → timm attribute, for blocks without (3 parts) and with (4 parts)
# an expansion convolution; "fc1"/"fc2" are the squeeze-excitation convolutions.
_TV_DEPTHWISE = {"0.0": "conv_dw", "0.1": "bn1", "1.fc1": "se.conv_reduce",
                 "1.fc2": "se.conv_expand", "2.0": "conv_pw", "2.1": "bn2"}
_TV_INVERTED = {"0.0": "conv_pw", "0.1": "bn1", "1.0": "conv_dw", "1.1": "bn2",
                "2.fc1": "se.conv_reduce", "2.fc2": "se.conv_expand", "3.0": "conv_pwl",
                "3.1": "bn3"}


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a tensor state dict from ``path`` (unwrapping ``state_dict``/``model`` and
    ``module.`` prefixes); :class:`InputError` if missing or not a state dict."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "weights file not found")
    try:
        data: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt / foreign files
        raise InputError(path, f"cannot be read as a torch state dict ({exc})") from None
    for key in ("state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not data or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()):
        raise InputError(path, "does not hold a state dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in data.items()}


def torchvision_efficientnet_to_timm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a torchvision EfficientNet (B0–B7) state dict to timm's names.

    ``features.0`` is the stem (``conv_stem``, ``bn1``), ``features.1``–``features.7`` are the
    stages (``blocks.0``–``blocks.6``) and ``features.8`` the head conv (``conv_head``, ``bn2``);
    the classifier is dropped. Keys that are not EfficientNet features are left out.
    """
    expanded = {tuple(k.split(".")[1:3]) for k in state if k.startswith("features.")
                and k.split(".")[3:5] == ["block", "3"]}
    renamed: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] != "features" or len(parts) < 4:
            continue
        stage = int(parts[1])
        if stage == 0 or stage == 8:
            module = {"0": "conv_stem", "1": "bn1"} if stage == 0 else {"0": "conv_head",
                                                                          "1": "bn2"}
            renamed[".".join([module[parts[2]], *parts[3:]])] = value
            continue
        if parts[3] != "block" or len(parts) < 7:
            continue
        table = _TV_INVERTED if (parts[1], parts[2]) in expanded else _TV_DEPTHWISE
        sub = ".".join(parts[4:6])
        if sub not in table:
            continue
        renamed[".".join(["blocks", str(stage - 1), parts[2], table[sub], *parts[6:]])] = value
    return renamed


def load_encoder_weights(encoder: nn.Module, path: str | Path, *,
                         stem_key: str = "conv_stem.weight") -> None:
    """Load the weights in ``path`` into ``encoder`` (timm naming, or torchvision EfficientNet
    naming mapped to it). Extra keys in the file (later stages, classifier) are ignored; a
    missing or mis-shaped encoder weight raises :class:`InputError`.

    When the file's stem convolution has a different number of input channels than the encoder
    (e.g. RGB ImageNet weights for a grey model), it is adapted with timm's ``adapt_input_conv``
    (summed for one channel, tiled and rescaled for more).
    """
    from timm.models import adapt_input_conv

    state = read_state_dict(path)
    if any(k.startswith("features.") for k in state):
        state = torchvision_efficientnet_to_timm(state)
    own = encoder.state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        raise InputError(path, f"{len(missing)} encoder weight(s) missing, e.g. {missing[:3]}")
    selected = {k: state[k] for k in own}
    if stem_key in selected and selected[stem_key].shape[1] != own[stem_key].shape[1]:
        selected[stem_key] = adapt_input_conv(own[stem_key].shape[1], selected[stem_key])
    wrong = [f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
             for k, v in selected.items() if v.shape != own[k].shape]
    if wrong:
        raise InputError(path, f"{len(wrong)} weight shape(s) do not match, e.g. {wrong[:2]}")
    encoder.load_state_dict(selected)
