"""Export a network to ONNX and run it with ONNX Runtime.

The exported graph is a predictor's :class:`~microseg.infer.runners.MapsNetwork`, described by a
:class:`NetworkLayout` (:func:`~microseg.infer.predictor.export_onnx` exports a predictor): input
``image`` ``(N, C, *spatial)`` float32, output ``maps`` ``(N, ΣK, *spatial)`` — every head
activated and concatenated, the same maps the PyTorch backend computes. The file carries the
checkpoint meta and the layout (heads, their activations, channels, divisor, padding) in its
metadata, so ``Predictor("model.onnx")`` works without PyTorch weights.

Models pad their input to a multiple of their down-sampling factor with amounts computed in
Python, which a trace freezes. The export therefore traces an input whose size is already a
multiple (no padding inside the graph), and :class:`OnnxRunner` pads every batch beforehand
exactly as the model would and crops the maps afterwards. Spatial axes are exported as dynamic
and checked against PyTorch at a second size; a model whose graph does not generalise (e.g. one
that derives extra inputs from the image size) is exported for the example size only and, when
the PyTorch model is at hand, re-exported for each new tile size the runner meets.

A :class:`~microseg.infer.standalone.RawInputNetwork` (``layout.raw_input``) is exported the
same way for tools that know nothing of microseg: its input is the raw image, normalised and
padded inside the graph, at any size (checked at a second size that is not a multiple of the
divisor). Microseg itself runs the checkpoint instead (its predictor normalises whole images
and tiles them).
"""
from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from microseg.errors import InputError
from microseg.io.atomic import atomic_path
from microseg.models.base import pad_to_multiple

META_KEY = "microseg.meta"
LAYOUT_KEY = "microseg.layout"
INPUT, OUTPUT = "image", "maps"
OPSET = 17
TOLERANCE = 1e-4


@dataclass(frozen=True)
class NetworkLayout:
    """What an export needs to know of a network besides its weights (a predictor builds it,
    :meth:`~microseg.infer.predictor.Predictor.network_layout`): ``in_channels`` and spatial
    ``dims`` of the input, the total down-sampling factor ``divisor`` and the ``pad_mode`` the
    model pads its input with, the output ``heads`` ``(name, channels)`` in output order with
    their ``activations``, the checkpoint ``meta`` stored beside the graph, and ``raw_input``:
    the network takes raw images (a :class:`~microseg.infer.standalone.RawInputNetwork`)."""

    in_channels: int
    dims: int
    divisor: int
    pad_mode: str
    heads: list[tuple[str | None, int]]
    activations: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    raw_input: bool = False

    def record(self, shape: tuple[int, ...], dynamic: bool) -> dict[str, Any]:
        """The layout as plain data, stored in an exported file, for the traced example
        ``shape`` ``(N, C, *spatial)``; ``dynamic``: the graph takes any spatial size."""
        record = {"heads": self.heads, "in_channels": self.in_channels,
                  "activations": list(self.activations), "dims": self.dims,
                  "divisor": self.divisor, "pad_mode": self.pad_mode, "dynamic": dynamic,
                  "shape": list(shape[1:]), "raw_input": self.raw_input}
        if self.raw_input:
            from microseg.infer.standalone import EXCLUDED, INCLUDED

            record.update(includes=INCLUDED, excludes=EXCLUDED)
        return record

    def description(self) -> str:
        """One paragraph on the exported graph's input and output (its ONNX ``doc_string``)."""
        spatial = "Y, X" if self.dims == 2 else "Z, Y, X"
        text = (f"microseg network. Output '{OUTPUT}' (N, {sum(k for _, k in self.heads)}, "
                f"{spatial}) float32: heads {[h for h, _ in self.heads]} activated "
                f"({', '.join(self.activations)}).")
        if not self.raw_input:
            return (f"{text} Input '{INPUT}' (N, {self.in_channels}, {spatial}) float32, "
                    f"normalised, sizes multiples of {self.divisor}.")
        from microseg.infer.standalone import EXCLUDED, INCLUDED

        return (f"{text} Input '{INPUT}' (N, {self.in_channels}, {spatial}) float32 raw "
                f"intensities, any size. Included: {INCLUDED}. Left to microseg: {EXCLUDED}.")


def write_onnx(network: nn.Module, layout: NetworkLayout, path: str | Path,
               example_shape: tuple[int, ...], *, dynamic: bool = True) -> Path:
    """Write ``network`` (a :class:`~microseg.infer.runners.MapsNetwork`, described by
    ``layout``) to ``path`` as ONNX. Atomic. See :func:`onnx_model_bytes` for the arguments."""
    data = onnx_model_bytes(network, layout, example_shape, dynamic=dynamic)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def onnx_model_bytes(network: nn.Module, layout: NetworkLayout, example_shape: tuple[int, ...],
                     dynamic: bool = True) -> bytes:
    """The serialised ONNX model of ``network`` with ``layout`` in its metadata.

    ``example_shape``: an input shape ``(N, C, *spatial)``; spatial sizes are rounded up to the
    model's divisor. ``dynamic``: batch and spatial axes dynamic (verified, see the module
    docstring); ``False`` exports exactly the example size (batch stays dynamic).
    """
    shape = traced_shape(layout, example_shape)
    if dynamic:
        data = _trace(network, shape, dynamic=True)
        if generalises(network, lambda x: _session(data, None).run(None, {INPUT: x})[0],
                       layout, shape):
            return _with_metadata(data, layout, shape, dynamic=True)
    return _with_metadata(_trace(network, shape, dynamic=False), layout, shape, dynamic=False)


def traced_shape(layout: NetworkLayout, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` ``(N, C, *spatial)`` checked against ``layout``, spatial sizes rounded up to
    the divisor: the input a network is traced with."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != layout.dims + 2 or shape[1] != layout.in_channels or min(shape) < 1:
        raise InputError(None, f"example shape must be (N, {layout.in_channels}, "
                               f"{'Y, X' if layout.dims == 2 else 'Z, Y, X'}), got {shape}")
    d = layout.divisor
    return shape[:2] + tuple(-(-s // d) * d for s in shape[2:])


def _trace(network: nn.Module, shape: tuple[int, ...], dynamic: bool) -> bytes:
    axes = {0: "batch"}
    if dynamic:
        axes.update({i: f"axis{i}" for i in range(2, len(shape))})
    buffer = io.BytesIO()
    example = torch.zeros(shape, dtype=torch.float32)
    was_training = network.training
    network.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the legacy exporter warns about traced shape logic
        torch.onnx.export(network, (example,), buffer, dynamo=False, input_names=[INPUT],
                          output_names=[OUTPUT], dynamic_axes={INPUT: axes, OUTPUT: axes},
                          opset_version=OPSET)
    network.train(was_training)
    return buffer.getvalue()


def generalises(network: nn.Module, run: Callable[[np.ndarray], np.ndarray],
                layout: NetworkLayout, shape: tuple[int, ...]) -> bool:
    """Does ``run`` (a traced ``network``) give PyTorch's maps at a second size: one divisor
    larger than the traced ``shape``, and one pixel more for a raw-input network (which pads
    inside its graph)?"""
    extra = layout.divisor + (1 if layout.raw_input else 0)
    other = shape[:2] + tuple(s + extra for s in shape[2:])
    x = np.random.default_rng(0).random(other, dtype=np.float32)
    try:
        got = np.asarray(run(x))
    except Exception:   # onnxruntime / TorchScript raise their own error types for shape conflicts
        return False
    with torch.inference_mode():
        expected = network(torch.from_numpy(x)).numpy()
    return got.shape == expected.shape and np.allclose(got, expected, rtol=TOLERANCE,
                                                       atol=TOLERANCE)


def _with_metadata(data: bytes, layout: NetworkLayout, shape: tuple[int, ...],
                   dynamic: bool) -> bytes:
    import onnx

    from microseg.models.checkpoint import plain_data

    model = onnx.load_from_string(data)
    model.doc_string = layout.description()
    for key, value in ((META_KEY, plain_data(dict(layout.meta))),
                       (LAYOUT_KEY, layout.record(shape, dynamic))):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    return model.SerializeToString()


def read_onnx(path: str | Path) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """Read a file written by :func:`export_onnx` → ``(model bytes, meta, layout)``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "ONNX file not found")
    data = path.read_bytes()
    return (data, *onnx_metadata(data, path))


def onnx_metadata(data: bytes, path: str | Path | None = None
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(meta, layout)`` stored in a serialised model by :func:`export_onnx`."""
    import onnx

    try:
        props = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    except Exception as exc:   # protobuf decode errors have no common public base class
        raise InputError(path, f"not a readable ONNX model ({type(exc).__name__})") from None
    if LAYOUT_KEY not in props:
        raise InputError(path, "ONNX model was not exported by microseg (no layout metadata)")
    layout = json.loads(props[LAYOUT_KEY])
    layout["heads"] = [(name, int(k)) for name, k in layout["heads"]]
    layout.setdefault("raw_input", False)
    return json.loads(props.get(META_KEY, "{}")), layout


def _session(data: bytes, threads: int | None, device: torch.device | None = None):
    """An ONNX Runtime session of ``data`` on the CPU, or on CUDA ``device`` (its CUDA
    provider, with the CPU for the operators it lacks)."""
    import onnxruntime as ort

    providers: list[Any] = ["CPUExecutionProvider"]
    if device is not None and device.type == "cuda":
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(data, sess_options=options, providers=providers)


class OnnxRunner:
    """Run an exported model on numpy batches ``(N, C, *tile)`` → maps ``(N, ΣK, *tile)``.

    Each batch is padded to the divisor as the model pads (``pad_mode``) and the maps cropped
    back. A model exported for one size only is re-exported by ``exporter(shape)`` for a new
    padded tile shape, or refused with :class:`InputError` when there is no exporter. ``device``:
    the CPU (None) or a CUDA device (onnxruntime's CUDA provider).
    """

    def __init__(self, data: bytes, layout: dict[str, Any], threads: int | None = None,
                 exporter: Callable[[tuple[int, ...]], bytes] | None = None,
                 device: torch.device | None = None):
        self.layout = layout
        self.threads = threads
        self.exporter = exporter
        self.device = device
        self.sessions = {None if layout["dynamic"] else tuple(layout["shape"][1:]):
                         _session(data, threads, device)}

    def _session_for(self, spatial: tuple[int, ...]):
        key = None if self.layout["dynamic"] else spatial
        if key not in self.sessions:
            if self.exporter is None:
                raise InputError(None, f"the ONNX model was exported for spatial size "
                                       f"{tuple(self.layout['shape'][1:])} only, got {spatial}")
            self.sessions[key] = _session(self.exporter(spatial), self.threads, self.device)
        return self.sessions[key]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        padded, crop = pad_to_multiple(x, self.layout["divisor"], self.layout["pad_mode"])
        session = self._session_for(tuple(padded.shape[2:]))
        maps = session.run(None, {INPUT: np.ascontiguousarray(padded.numpy())})[0]
        return np.ascontiguousarray(maps[(slice(None), slice(None), *crop)])
