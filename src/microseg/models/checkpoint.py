"""Checkpoints: one file with the weights and everything needed to reproduce inference.

The file is a ``torch.save`` mapping::

    {"format": "microseg-checkpoint", "format_version": 1,
     "meta": {...}, "weights": model.state_dict(), "state": {...}}

``meta`` is the plain data of a :class:`~microseg.models.meta.ModelMeta` (checked when written
and when read) and holds at least ``arch`` and ``config`` (so ``microseg.models.build(meta.arch,
**meta.config)`` rebuilds the network) and ``microseg_version``. The trainer also stores
``in_channels``, ``normalization``, ``target``, ``post`` (post-processing defaults),
``object_diameter`` / ``pixel_size``, ``training`` (data summary and configuration), ``metrics``
and ``iteration``. ``state`` is the optional trainer state for resuming (optimiser, schedule,
iteration, rng states) and is empty in a release checkpoint.

Files are written atomically and read with ``torch.load(weights_only=True)``, so a checkpoint
never executes code when loaded.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from microseg.errors import InputError
from microseg.io.atomic import atomic_path
from microseg.models.meta import ModelMeta

FORMAT = "microseg-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, model: nn.Module, meta: Mapping[str, Any],
                    **state: Any) -> Path:
    """Write ``model``'s weights, ``meta`` and trainer ``state`` to ``path`` atomically.

    ``meta`` (a :class:`ModelMeta` or its mapping): ``arch`` / ``config`` default to
    ``model.arch`` / ``model.config`` (set by ``microseg.models.build``). ``state`` values must
    be tensors or plain data (optimiser state dicts qualify). Returns ``path``. Raises
    :class:`InputError` when the model cannot be described or ``meta`` holds a bad field or
    something that is not plain data.
    """
    path = Path(path)
    meta = dict(meta)
    for key, attribute in (("arch", "arch"), ("config", "config")):
        if key not in meta:
            if not hasattr(model, attribute):
                raise InputError(
                    path,
                    f"cannot save a checkpoint: the model has no .{attribute} and meta has no "
                    f"{key!r} (build models with microseg.models.build)",
                )
            meta[key] = getattr(model, attribute)
    from microseg.version import __version__

    meta.setdefault("microseg_version", __version__)
    meta.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    content = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "meta": ModelMeta.read(plain_data(meta, path, "meta"), path).to_dict(),
        "weights": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "state": state,
    }
    with atomic_path(path) as tmp:
        torch.save(content, tmp)
    return path


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, ModelMeta, dict[str, Any]]:
    """Read a checkpoint and rebuild its model → ``(model, meta, state)``, the model in eval mode.

    A missing, corrupt or foreign file, or weights that do not fit the described architecture,
    raise :class:`InputError` naming the file.
    """
    from microseg import models
    from microseg.errors import MicrosegError

    path = Path(path)
    content = read_checkpoint(path, map_location)
    meta = content["meta"]
    try:
        model = models.build(meta.arch, **meta.config)
    except (MicrosegError, TypeError) as exc:
        raise InputError(path, f"cannot rebuild architecture {meta.arch!r}: {exc}") from None
    try:
        model.load_state_dict(content["weights"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[:3]
        raise InputError(
            path, f"weights do not fit architecture {meta.arch!r}: {' '.join(first)}"
        ) from None
    model.to(map_location)
    model.eval()
    return model, meta, content["state"]


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checked content of a checkpoint file: ``format``, ``meta`` (a :class:`ModelMeta`),
    ``weights``, ``state``. A ``.zip`` file is read as a bioimage.io package microseg wrote
    (:mod:`microseg.models.bioimageio`)."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        from microseg.models.bioimageio import read_package

        package = read_package(path, map_location)
        return {"format": FORMAT, "meta": ModelMeta.read(package["meta"], path),
                "weights": package["weights"], "state": {}}
    if not path.is_file():
        raise InputError(path, "checkpoint not found")
    try:
        content = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for truncated / non-torch / unsafe files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"not a readable checkpoint ({reason[:200]})") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InputError(path, "not a microseg checkpoint (no 'format: microseg-checkpoint' entry)")
    if content.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(
            path,
            f"checkpoint format version {content.get('format_version')} is newer than this "
            f"microseg understands ({FORMAT_VERSION}); upgrade microseg",
        )
    meta = content.get("meta")
    if not isinstance(meta, dict) or "arch" not in meta or not isinstance(meta.get("config"), dict):
        raise InputError(path, "checkpoint meta lacks 'arch' and 'config'")
    content["meta"] = ModelMeta.read(meta, path)
    if not isinstance(content.get("weights"), dict):
        raise InputError(path, "checkpoint holds no weights")
    content.setdefault("state", {})
    return content


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a plain ``state_dict`` file of another tool (e.g. SAM weights), read with
    ``weights_only`` (a file cannot run code); InputError naming the file when it is missing,
    unreadable or not a mapping of names to tensors."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(path, "weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated / non-torch / unsafe files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"not a readable weights file ({reason[:200]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(path, "not a state dict (a mapping of parameter names to tensors)")
    return state


def plain_data(value: Any, path: Path | None = None, where: str = "meta") -> Any:
    """``value`` converted to plain data: paths → str, tuples → lists, numpy scalars/arrays and
    dataclasses → their Python equivalents. Anything else raises :class:`InputError`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain_data(dataclasses.asdict(value), path, where)
    if isinstance(value, Mapping):
        return {str(k): plain_data(v, path, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v, path, f"{where}[{i}]") for i, v in enumerate(value)]
    raise InputError(path, f"{where}: {type(value).__name__} is not plain data "
                           "(str, number, list, dict)")
