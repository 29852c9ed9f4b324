"""A model exported for other tools (``microseg export``): ONNX and TorchScript files that take
raw images, and bioimage.io packages.

>>> export_model("default", onnx="default.onnx", bioimageio="default.zip")   # doctest: +SKIP

The ONNX and TorchScript files hold the network behind the predictor's normalisation and
padding (:mod:`microseg.infer.standalone`): input ``image`` ``(N, C, *spatial)`` float32 raw
intensities of any size, output ``maps`` ``(N, ΣK, *spatial)``; they carry the checkpoint meta
and a layout record saying what is included and what is left to microseg (ONNX: metadata and
``doc_string``; TorchScript: extra files). Microseg itself runs the checkpoint (``--backend
onnxruntime`` exports the network on the fly). The bioimage.io package:
:mod:`microseg.pipelines.bioimageio`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from microseg.errors import ConfigError

#: Spatial size the ONNX / TorchScript graphs are traced at (any size runs afterwards).
TRACE_SIZE = 64


def export_model(model: Any, *, onnx: str | Path | None = None,
                 torchscript: str | Path | None = None, bioimageio: str | Path | None = None,
                 card: Any = None) -> list[Path]:
    """Write ``model`` (a bundled model's name or a checkpoint path) in the formats given:
    ``onnx`` / ``torchscript`` files taking raw images, a ``bioimageio`` package (``card``: its
    model card, see :func:`~microseg.pipelines.bioimageio.write_bioimageio`). Returns the paths
    written; each file is written atomically."""
    from microseg.infer.predictor import export_onnx, export_torchscript
    from microseg.pipelines.model import load_model

    if onnx is None and torchscript is None and bioimageio is None:
        raise ConfigError("nothing to export: give an ONNX, TorchScript or bioimage.io output "
                          "(--onnx, --torchscript, --bioimageio)")
    if onnx is not None or bioimageio is not None:
        _require("onnx", "onnx")
        _require("onnxruntime", "onnx")
    if bioimageio is not None:
        _require("bioimageio.spec", "bioimageio")
    written: list[Path] = []
    if onnx is not None or torchscript is not None:
        predictor = load_model(model, device="cpu")
        shape = (1, predictor.in_channels) + (max(TRACE_SIZE, predictor.divisor),) * predictor.dims
        if onnx is not None:
            written.append(export_onnx(predictor, onnx, shape, raw_input=True))
        if torchscript is not None:
            written.append(export_torchscript(predictor, torchscript, shape, raw_input=True))
    if bioimageio is not None:
        from microseg.pipelines.bioimageio import write_bioimageio

        written.append(write_bioimageio(model, bioimageio, card=card))
    return written


def _require(module: str, extra: str) -> None:
    """A :class:`ConfigError` naming the extra to install when ``module`` is missing."""
    import importlib.util

    if importlib.util.find_spec(module.partition(".")[0]) is None or \
            importlib.util.find_spec(module) is None:
        raise ConfigError(f"this export needs {module}: pip install 'microseg[{extra}]'")
