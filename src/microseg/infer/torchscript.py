"""Export a network as TorchScript (``torch.jit.trace``), loadable with ``torch.jit.load``
without microseg.

The traced module takes ``(N, C, *spatial)`` float32 and returns the activated maps ``(N, ΣK,
*spatial)``, as the ONNX export does (:mod:`microseg.infer.onnx`, same
:class:`~microseg.infer.onnx.NetworkLayout`): a raw-input network
(:class:`~microseg.infer.standalone.RawInputNetwork`) takes raw images of any size, a
:class:`~microseg.infer.runners.MapsNetwork` normalised images whose sizes are multiples of the
divisor. The trace is checked against PyTorch at a second size; one that does not generalise is
refused. The file carries the checkpoint meta and the layout as JSON extra files
(``microseg.meta``, ``microseg.layout``; read them with ``torch.jit.load(path,
_extra_files={"microseg.layout": ""})``).
"""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from microseg.errors import ConfigError
from microseg.infer.onnx import LAYOUT_KEY, META_KEY, NetworkLayout, generalises, traced_shape
from microseg.io.atomic import atomic_path


def torchscript_bytes(network: nn.Module, layout: NetworkLayout,
                      example_shape: tuple[int, ...]) -> bytes:
    """The serialised TorchScript module of ``network`` (described by ``layout``) traced at
    ``example_shape`` ``(N, C, *spatial)`` (spatial sizes rounded up to the divisor)."""
    from microseg.models.checkpoint import plain_data

    shape = traced_shape(layout, example_shape)
    was_training = network.training
    network.eval()
    example = torch.from_numpy(np.random.default_rng(0).random(shape, dtype=np.float32))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")   # deprecation and shape-logic warnings of the tracer
        traced = torch.jit.trace(network, example, check_trace=False)
    network.train(was_training)
    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return traced(torch.from_numpy(x)).numpy()

    if not generalises(network, run, layout, shape):
        raise ConfigError("the traced network does not give the same maps at another input "
                          "size; it cannot be exported as TorchScript")
    extra = {META_KEY: json.dumps(plain_data(dict(layout.meta))),
             LAYOUT_KEY: json.dumps(layout.record(shape, dynamic=True))}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # torch.jit.save is deprecated
        torch.jit.save(traced, buffer, _extra_files=extra)
    return buffer.getvalue()


def write_torchscript(network: nn.Module, layout: NetworkLayout, path: str | Path,
                      example_shape: tuple[int, ...]) -> Path:
    """Write ``network`` to ``path`` as TorchScript (:func:`torchscript_bytes`). Atomic."""
    data = torchscript_bytes(network, layout, example_shape)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)
