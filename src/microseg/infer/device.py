"""Where a network runs: ``auto``, ``cpu`` or ``cuda`` (optionally ``cuda:N``) → a
``torch.device``.

>>> resolve_device("cpu")
device(type='cpu')
>>> resolve_device("tpu")
Traceback (most recent call last):
...
microseg.errors.ConfigError: device must be auto, cpu or cuda (cuda:N for one GPU), got 'tpu'
"""
from __future__ import annotations

import torch

from microseg.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
#: onnxruntime's GPU provider (the ``onnxruntime-gpu`` package).
CUDA_PROVIDER = "CUDAExecutionProvider"


def parse_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device`` of type ``cpu`` or ``cuda``; anything else raises
    :class:`~microseg.errors.ConfigError`."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        parsed = None
    if parsed is None or parsed.type not in DEVICES:
        raise ConfigError(f"device must be auto, cpu or cuda (cuda:N for one GPU), got "
                          f"{device!r}")
    return parsed


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Where PyTorch runs the network: ``auto`` (or None) is the current GPU when
    ``torch.cuda.is_available()``, else the CPU; ``cuda`` / ``cuda:N`` raise
    :class:`~microseg.errors.ConfigError` when torch sees no such GPU. A CUDA device comes back
    with its index (``cuda`` → ``cuda:0`` on the current GPU 0)."""
    if device is None or (isinstance(device, str) and device == "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = parse_device(device)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda \
                else "built without CUDA"
            raise ConfigError(f"device {str(device)!r} requested but torch sees no CUDA GPU "
                              f"(torch {torch.__version__}, {build}); use device cpu or auto")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ConfigError(f"device {str(device)!r} requested but torch sees {count} CUDA "
                              f"GPU(s)")
        return torch.device("cuda", torch.cuda.current_device() if resolved.index is None
                            else resolved.index)
    return resolved


def onnx_device(device: str | torch.device | None = "auto") -> torch.device:
    """Where ONNX Runtime runs the network: ``auto`` (or None) is the first GPU when
    onnxruntime offers its CUDA provider (the ``onnxruntime-gpu`` package), else the CPU;
    ``cuda`` without that provider raises :class:`~microseg.errors.ConfigError`."""
    import onnxruntime

    has_cuda = CUDA_PROVIDER in onnxruntime.get_available_providers()
    if device is None or (isinstance(device, str) and device == "auto"):
        device = "cuda" if has_cuda else "cpu"
    resolved = parse_device(device)
    if resolved.type == "cuda" and not has_cuda:
        raise ConfigError(f"device {str(device)!r} requested but onnxruntime has no CUDA "
                          f"provider (install onnxruntime-gpu, or use the torch backend)")
    return torch.device("cuda", resolved.index or 0) if resolved.type == "cuda" else resolved
