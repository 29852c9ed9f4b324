"""Read a model back from a bioimage.io package that microseg wrote
(:mod:`microseg.pipelines.bioimageio`), so ``Predictor("model.zip")`` and ``microseg segment
--model model.zip`` run the whole microseg pipeline on it.

Only data is read: ``rdf.yaml`` with ``yaml.safe_load``, the checkpoint meta from its
``config.microseg.meta`` and the ``pytorch_state_dict`` weights with ``torch.load(...,
weights_only=True)``; the network is rebuilt by microseg from the recorded architecture. The
package's architecture file is never imported, so a package from a stranger runs no code.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import torch
import yaml

from microseg.errors import InputError

#: The prefix of the network's weights in the state dict of the packaged
#: :class:`~microseg.infer.runners.MapsNetwork` (network then activations).
PREFIX = "model."


def read_package(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """``{"meta": plain meta, "weights": state dict}`` of a microseg bioimage.io package; a file
    that is not one raises :class:`InputError` naming it and what is missing."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "bioimage.io package not found")
    try:
        with zipfile.ZipFile(path) as archive:
            rdf = yaml.safe_load(archive.read("rdf.yaml"))
            microseg = ((rdf or {}).get("config") or {}).get("microseg") or {}
            weights = ((rdf.get("weights") or {}).get("pytorch_state_dict") or {})
            if "meta" not in microseg or "source" not in weights:
                raise InputError(path, "not a bioimage.io package written by microseg (no "
                                       "config.microseg.meta or pytorch_state_dict weights); "
                                       "microseg runs its own packages, other tools run any")
            data = archive.read(str(weights["source"]))
    except (zipfile.BadZipFile, KeyError, yaml.YAMLError, AttributeError) as exc:
        raise InputError(path, f"not a readable bioimage.io package ({type(exc).__name__}: "
                               f"{str(exc)[:200]})") from None
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt / unsafe files
        raise InputError(path, f"unreadable weights {weights['source']} "
                               f"({str(exc).strip()[:200] or type(exc).__name__})") from None
    if not isinstance(state, dict) or not all(k.startswith(PREFIX) for k in state):
        raise InputError(path, f"weights {weights['source']} are not the state dict of a "
                               f"microseg network")
    return {"meta": microseg["meta"],
            "weights": {k[len(PREFIX):]: v for k, v in state.items()}}
