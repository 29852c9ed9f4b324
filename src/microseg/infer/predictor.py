"""`Predictor`: a trained network applied to images of any size, 2D or 3D → per-pixel maps.

>>> predictor = Predictor("runs/dsb/best.pt", tta="mean")           # doctest: +SKIP
>>> maps = predictor.predict(image)                                  # doctest: +SKIP
>>> predictor.prediction(image).bright_background                    # doctest: +SKIP

``maps`` is float32 ``(K, Y, X)``, or a dict head → ``(K, Y, X)`` for a multi-head model.

What the checkpoint fixes (``meta``, see :mod:`microseg.models.checkpoint`): the input channels
and intensity normalisation (:class:`~microseg.infer.inputs.Normalization`), the output
activation per head (:mod:`microseg.infer.activation`), the training scale (``object_diameter``
in pixels, ``pixel_size``, or a fixed resampling ``scale``) and, optionally, the z context a 2D
model was trained with (``z_context``).

Prediction steps: layout and channels (:mod:`microseg.infer.inputs`) → normalisation (or
pseudocolouring of stack slices) → rescaling to the model's scale → tiled sliding-window
prediction (:func:`~microseg.infer.tiling.predict_tiled`; tiles aligned to the model's
down-sampling factor, blended smoothly), each batch of tiles optionally under 8-fold dihedral
test-time augmentation (:func:`~microseg.infer.tta.with_tta`) → maps resampled back to the image
grid. Three cases:

- a 2D model on a 2D image ``(Y, X)`` / ``(Y, X, RGB)``: maps ``(K, Y, X)``;
- a 3D model on a stack ``(Z, Y, X)``: tiled in 3D, maps ``(K, Z, Y, X)``;
- a 2D model on a stack: slice by slice (:mod:`microseg.infer.slices`, optional Context Aware
  Pseudocoloring; slices that fit in one tile are batched), maps stacked to ``(K, Z, Y, X)``;
  rescaling then acts on Y and X only.

Backends: ``torch`` (``torch.inference_mode``, channels-last layout, ``threads``) or
``onnxruntime`` (the network exported with :func:`export_onnx`; also used
when the predictor is built from an ``.onnx`` file); either on the CPU or a CUDA GPU
(``device``, :func:`~microseg.infer.device.resolve_device`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from microseg.config import check_choice
from microseg.errors import ConfigError, InputError
from microseg.infer.activation import resolve_activations
from microseg.infer.device import onnx_device, resolve_device
from microseg.infer.inputs import Normalization, channels_first, spatial_ndim
from microseg.infer.resample import resize, scaled_shape
from microseg.infer.runners import PRECISIONS, Heads, MapsNetwork, TorchRunner, probe_heads
from microseg.infer.slices import check_z_context, slice_inputs, uses_pseudocolor
from microseg.infer.tiling import predict_tiled
from microseg.infer.tta import with_tta
from microseg.models.base import pad_to_multiple
from microseg.models.meta import ModelMeta
from microseg.preprocess.normalize import Levels
from microseg.preprocess.stain import is_stained

if TYPE_CHECKING:
    from microseg.infer.onnx import NetworkLayout

Maps = np.ndarray | dict[str, np.ndarray]
BACKENDS = ("torch", "onnxruntime")
TTA_MODES = ("none", "mean", "max")
#: Largest tile per spatial dimensionality: a 2D image up to 2048² (4 MP) goes through the
#: network in one call, no pixel computed twice; larger ones in balanced tiles
#: (:func:`~microseg.infer.tiling.balanced_tile`). Whole images run faster than small tiles, for
#: more memory (``benchmarks/speed.py`` measures both).
DEFAULT_TILE = {2: 2048, 3: 128}


@dataclass(frozen=True)
class Prediction:
    """What :meth:`Predictor.prediction` returns: the ``maps`` (as :meth:`Predictor.predict`)
    and ``bright_background``, whether the normalisation inverted the image's bright
    background (bright-field, H&E-like; always False for stacks), which picks the model's
    post-processing for such images (:func:`microseg.post.registry.default_post`)."""

    maps: Maps
    bright_background: bool = False


def model_divisor(model: nn.Module, meta: ModelMeta) -> int:
    """The model's total down-sampling factor: ``model.multiple`` (every microseg model has
    it), else ``2 ** (depth - 1)`` from its configuration, else 1."""
    multiple = getattr(model, "multiple", None)
    if multiple is not None:
        return int(multiple)
    depth = meta.config.get("depth")
    return 2 ** (int(depth) - 1) if depth else 1


class Predictor:
    """A network ready to predict maps for whole images (see the module docstring).

    Args:
        model: checkpoint path (``.pt``), exported ONNX file (``.onnx``) or a ``torch.nn.Module``
            (a bare model has no meta unless ``meta`` is given: no normalisation record → 1–99.8
            percentile normalisation, identity activation, no scale).
        meta: overrides / completes the checkpoint meta (e.g. ``{"activation": "sigmoid"}``; the
            activations of an ONNX file are part of its graph and stay as exported).
        backend: ``torch`` or ``onnxruntime``.
        tile: largest tile in pixels per spatial axis (int or tuple); default 2048 (2D), 128 (3D);
            tiles shrink to cover the image evenly.
        overlap: pixels shared by neighbouring tiles (blending width); default tile / 8.
        batch_size: tiles per network call.
        tta: ``none``, ``mean`` or ``max`` (8 dihedral transforms of Y, X).
        threads: CPU threads for torch / onnxruntime (default: the library's choice).
        channels_last: torch backend in channels-last memory layout.
        precision: torch backend: ``float32`` or ``bfloat16`` (CPU autocast: about 2× faster
            on CPUs with native bf16, maps within a few hundredths; see the README).
        z_context: for a 2D model on stacks: ``pseudocolor`` or ``none``; default
            ``meta.z_context``, else ``pseudocolor`` for a 3-channel model and ``none``
            otherwise.
        device: ``auto`` (a CUDA GPU when torch sees one, else the CPU), ``cpu``, ``cuda`` or
            ``cuda:N``; a GPU torch cannot see is a :class:`ConfigError`. The onnxruntime
            backend uses its CUDA provider when installed (``onnxruntime-gpu``) for ``auto``
            and needs it for ``cuda``.
    """

    def __init__(self, model: str | Path | nn.Module, *, meta: Mapping[str, Any] | None = None,
                 backend: str = "torch", tile: int | tuple[int, ...] | None = None,
                 overlap: int | tuple[int, ...] | None = None, batch_size: int = 4,
                 tta: str = "none", threads: int | None = None, channels_last: bool = True,
                 z_context: str | None = None, precision: str = "float32",
                 device: str | torch.device | None = "auto"):
        check_choice("backend", backend, BACKENDS)
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        check_choice("precision", precision, PRECISIONS)
        onnx_file = not isinstance(model, nn.Module) and Path(model).suffix.lower() == ".onnx"
        if precision != "float32" and (backend != "torch" or onnx_file):
            raise ConfigError(f"precision {precision} needs the torch backend and a checkpoint")
        self.precision = precision
        self.tta = _check_tta(tta)
        self.tile, self.overlap, self.batch_size = tile, overlap, int(batch_size)
        self.threads = threads
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.source = None if isinstance(model, nn.Module) else Path(model)
        self.network: MapsNetwork | None = None
        self.device = onnx_device(device) if backend == "onnxruntime" or onnx_file \
            else resolve_device(device)
        if self.source is not None and self.source.suffix.lower() == ".onnx":
            self._init_onnx_file(self.source, meta)
        else:
            self._init_torch(model, meta, backend, channels_last, precision)
        self.normalization = self.meta.normalization or Normalization()
        default_context = "pseudocolor" if self.in_channels == 3 else "none"
        self.z_context = check_z_context(z_context or self.meta.z_context or default_context)

    # --- construction --------------------------------------------------------------------------
    def _init_torch(self, model: str | Path | nn.Module, meta: Mapping[str, Any] | None,
                    backend: str, channels_last: bool, precision: str) -> None:
        if isinstance(model, nn.Module):
            net, recorded = model.eval(), {}
            if hasattr(model, "arch"):
                recorded = {"arch": model.arch, "config": dict(getattr(model, "config", {}))}
        else:
            from microseg.models.checkpoint import load_checkpoint

            net, recorded, _ = load_checkpoint(model)
        self.model = net
        self.meta = ModelMeta.read({**recorded, **(meta or {})}, self.source)
        self.in_channels = int(getattr(net, "in_channels", 0) or self.meta.in_channels or 0)
        if self.in_channels < 1:
            raise ConfigError("the model does not say how many input channels it takes; pass "
                              "meta={'in_channels': C}")
        self.dims = int(getattr(net, "dims", 0) or self.meta.config.get("dims", 2))
        self.divisor = model_divisor(net, self.meta)
        self.pad_mode = str(getattr(net, "pad_mode", "reflect"))
        self.heads: Heads = probe_heads(net, self.in_channels, self.dims, self.divisor)
        self.activations = resolve_activations(self.meta, [h for h, _ in self.heads])
        self.network = MapsNetwork(net, self.heads, self.activations)
        if backend == "torch":
            self.run: Callable[[np.ndarray], np.ndarray] = TorchRunner(
                self.network, self.dims, channels_last, precision, self.device)
        else:
            from microseg.infer.onnx import OnnxRunner, onnx_metadata, onnx_model_bytes

            layout = self.network_layout()
            data = onnx_model_bytes(self.network, layout,
                                    (1, self.in_channels) + self.tile_size(self.tile))
            self.run = OnnxRunner(data, onnx_metadata(data)[1], self.threads,
                                  exporter=lambda spatial: onnx_model_bytes(
                                      self.network, layout, (1, self.in_channels) + spatial,
                                      dynamic=False), device=self.device)
        self.backend = backend

    def _init_onnx_file(self, path: Path, meta: Mapping[str, Any] | None) -> None:
        from microseg.infer.onnx import OnnxRunner, read_onnx

        data, recorded, layout = read_onnx(path)
        if layout["raw_input"]:
            raise InputError(path, "this ONNX model takes raw images (the input normalisation "
                                   "is inside its graph, for tools other than microseg); give "
                                   "microseg the checkpoint or the bundled model's name instead "
                                   "(--backend onnxruntime runs it with ONNX Runtime)")
        self.model = None
        self.meta = ModelMeta.read({**recorded, **(meta or {})}, path)
        self.in_channels, self.dims = int(layout["in_channels"]), int(layout["dims"])
        self.divisor, self.pad_mode = int(layout["divisor"]), str(layout["pad_mode"])
        self.heads = layout["heads"]
        self.activations = dict(zip([h for h, _ in self.heads], layout["activations"]))
        self.run = OnnxRunner(data, layout, self.threads, device=self.device)
        self.backend = "onnxruntime"

    # --- scale ---------------------------------------------------------------------------------
    def scale_factor(self, diameter: float | None = None, pixel_size: float | None = None) -> float:
        """Factor by which images are resampled before the network.

        ``diameter`` (pixels, the typical object diameter in the image): training diameter /
        ``diameter``. ``pixel_size`` (physical units): ``pixel_size`` / training pixel size.
        Neither: the checkpoint's fixed training ``scale``, else 1.
        """
        if diameter is not None and pixel_size is not None:
            raise ConfigError("give either an object diameter or a pixel size, not both")
        for name, value in (("diameter", diameter), ("pixel size", pixel_size)):
            if value is not None and not (isinstance(value, (int, float, np.number))
                                          and np.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value!r}")
        if diameter is not None:
            return self._trained("object_diameter", "object diameter") / float(diameter)
        if pixel_size is not None:
            return float(pixel_size) / self._trained("pixel_size", "pixel size")
        return float(self.meta.scale or 1.0)

    def _trained(self, key: str, what: str) -> float:
        value = getattr(self.meta, key)
        if not value:
            raise ConfigError(f"this model records no training {what}; it cannot rescale images "
                              f"by their {what}")
        return float(value)

    # --- prediction ----------------------------------------------------------------------------
    def mode(self, image: np.ndarray, channel_axis: int | None = None) -> str:
        """``"2d"``, ``"3d"`` (native 3D model) or ``"slices"`` (2D model on a stack)."""
        ndim = spatial_ndim(image, channel_axis)
        if self.dims == 3:
            if ndim != 3:
                raise InputError(None, f"this 3D model needs a (Z, Y, X) stack, got an image of "
                                       f"shape {np.shape(image)}")
            return "3d"
        return "slices" if ndim == 3 else "2d"

    def predict(self, image: np.ndarray, **options: Any) -> Maps:
        """Maps for ``image`` as read (see :mod:`microseg.infer.inputs` for layouts): float32
        ``(K, *spatial)`` on the image grid, or a dict head → ``(K_h, *spatial)`` for a
        multi-head model. ``options``: those of :meth:`prediction`."""
        return self.prediction(image, **options).maps

    def prediction(self, image: np.ndarray, *, diameter: float | None = None,
                   pixel_size: float | None = None, channel_axis: int | None = None,
                   z_context: str | None = None, tta: str | None = None,
                   tile: int | tuple[int, ...] | None = None,
                   intensity_range: tuple[float, float] | None = None,
                   progress: bool = False, on_image_grid: bool = True,
                   levels: Levels | None = None) -> Prediction:
        """Maps for ``image`` and what the normalisation saw (:class:`Prediction`).

        ``intensity_range`` is the (min, max) of a whole sequence for ``sequence``
        normalisation; ``tta`` / ``tile`` override the predictor's. ``on_image_grid=False``
        keeps the maps on the network's grid (the image resampled by :meth:`scale_factor`).
        ``levels``: ``image`` is a block of a larger image normalised as a whole
        (:class:`~microseg.preprocess.normalize.Levels`, see :mod:`microseg.scale`).
        """
        image = np.asarray(image)
        mode = self.mode(image, channel_axis)
        x, inverted = self.prepare(image, channel_axis=channel_axis, z_context=z_context,
                                   intensity_range=intensity_range, levels=levels)
        return self.prediction_of_input(x, mode, diameter=diameter, pixel_size=pixel_size,
                                        tta=tta, tile=tile, progress=progress,
                                        on_image_grid=on_image_grid, inverted=inverted)

    def prepare(self, image: np.ndarray, *, channel_axis: int | None = None,
                z_context: str | None = None,
                intensity_range: tuple[float, float] | None = None,
                levels: Levels | None = None) -> tuple[np.ndarray, bool]:
        """The network's input for ``image`` at the image's scale: normalised float32 ``(C,
        *spatial)`` (for a 2D model on a stack, the slices' inputs ``(C, Z, Y, X)``), and
        whether the normalisation inverted a bright background (``levels``: see
        :meth:`prediction`). A crop of it is predicted as the crop of the whole image, its
        intensities seen in the whole image's context (:meth:`prediction_of_input`)."""
        image = np.asarray(image)
        mode = self.mode(image, channel_axis)
        if mode == "slices":
            return slice_inputs(image, self.in_channels,
                                check_z_context(z_context or self.z_context),
                                self.normalization, channel_axis, intensity_range, levels), False
        stained = (mode == "2d" and channel_axis is None and image.ndim == 3
                   and image.shape[-1] in (3, 4) and is_stained(image))
        return self.normalization.apply(channels_first(image, self.in_channels, channel_axis),
                                        intensity_range, stained, levels)

    def prediction_of_input(self, x: np.ndarray, mode: str = "2d", *,
                            diameter: float | None = None, pixel_size: float | None = None,
                            tta: str | None = None, tile: int | tuple[int, ...] | None = None,
                            progress: bool = False, on_image_grid: bool = True,
                            inverted: bool = False) -> Prediction:
        """:meth:`prediction` of an input :meth:`prepare` made (or a crop of one) in ``mode``
        (:meth:`mode` of its image); ``inverted`` is returned as ``bright_background``."""
        factor = self.scale_factor(diameter, pixel_size)
        spatial = x.shape[1:]
        factors = (1.0,) + (factor,) * 2 if mode == "slices" else (factor,) * len(spatial)
        x = resize(x, scaled_shape(spatial, factors))
        if mode == "slices":
            maps = self.predict_slices(x, tta=tta, tile=tile, progress=progress)
        else:
            maps = self.predict_array(x, tta=tta, tile=tile)
        if on_image_grid:
            maps = resize(maps, spatial)
        return Prediction(self.split_heads(maps), inverted)

    def predict_slices(self, x: np.ndarray, *, tta: str | None = None,
                       tile: int | tuple[int, ...] | None = None,
                       progress: bool = False) -> np.ndarray:
        """Maps ``(ΣK, Z, Y, X)`` of a prepared stack ``(C, Z, Y, X)``, slice by slice with a 2D
        model. Slices that fit in one tile go through the network ``batch_size`` at a time
        (padded as the model pads them, so the maps equal those of :meth:`predict_array`);
        larger ones are tiled one by one."""
        x = np.asarray(x, dtype=np.float32)
        depth = x.shape[1]
        size = self.tile_size(tile if tile is not None else self.tile)
        if any(-(-n // self.divisor) * self.divisor > t for n, t in zip(x.shape[2:], size)):
            planes = tqdm(range(depth), desc="slices", unit="slice", disable=not progress,
                          leave=False)
            return np.stack([self.predict_array(x[:, z], tta=tta, tile=tile) for z in planes],
                            axis=1)
        run = self._runner(tta)
        slices = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, 1, 0)))   # (Z, C, Y, X)
        padded, crop = pad_to_multiple(slices, self.divisor, self.pad_mode)
        starts = tqdm(range(0, depth, self.batch_size), desc="slices", unit="batch",
                      disable=not progress, leave=False)
        maps = np.concatenate([run(padded[i:i + self.batch_size].numpy()) for i in starts])
        return np.ascontiguousarray(np.moveaxis(maps[(slice(None), slice(None), *crop)], 0, 1))

    def predict_array(self, x: np.ndarray, *, tta: str | None = None,
                      tile: int | tuple[int, ...] | None = None) -> np.ndarray:
        """Maps ``(ΣK, *spatial)`` (heads concatenated) of a prepared input: float32 ``(C,
        *spatial)`` already normalised and at the model's scale, with the model's spatial
        dimensionality. Tiled, batched, with the predictor's TTA unless ``tta`` is given."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != self.dims + 1 or x.shape[0] != self.in_channels:
            raise InputError(None, f"prepared input must be ({self.in_channels}, "
                                   f"{'Y, X' if self.dims == 2 else 'Z, Y, X'}), got {x.shape}")
        run = self._runner(tta)
        size = self.tile_size(tile if tile is not None else self.tile)
        overlap = self.overlap if self.overlap is not None else tuple(t // 8 for t in size)
        # pad as the model pads a whole image, so tiles see exactly what the whole image would
        padded, crop = pad_to_multiple(torch.from_numpy(x)[None], self.divisor, self.pad_mode)
        maps = predict_tiled(padded[0].numpy(), run, tile=size, overlap=overlap,
                             align=self.divisor, batch_size=self.batch_size)
        return np.ascontiguousarray(maps[(slice(None), *crop)])

    def _runner(self, tta: str | None) -> Callable[[np.ndarray], np.ndarray]:
        """The network on batches, under TTA ``tta`` (default: the predictor's)."""
        mode = _check_tta(tta or self.tta)
        return self.run if mode == "none" else with_tta(self.run, mode)

    def tile_size(self, tile: int | tuple[int, ...] | None) -> tuple[int, ...]:
        """Tile shape per spatial axis (a multiple of the divisor)."""
        tile = self._default_tile() if tile is None else tile
        sizes = (tile,) * self.dims if isinstance(tile, int) else tuple(int(t) for t in tile)
        if len(sizes) != self.dims or min(sizes) < 1:
            raise ConfigError(f"tile must be a positive size or {self.dims} sizes, got {tile!r}")
        return tuple(max(self.divisor, -(-t // self.divisor) * self.divisor) for t in sizes)

    def _default_tile(self) -> int:
        return DEFAULT_TILE[self.dims]

    def split_heads(self, maps: np.ndarray) -> Maps:
        """Concatenated maps ``(ΣK, *spatial)`` → ``(K, *spatial)`` (one head) or a dict."""
        if len(self.heads) == 1 and self.heads[0][0] is None:
            return maps
        out, start = {}, 0
        for name, k in self.heads:
            out[str(name)] = maps[start:start + k]
            start += k
        return out

    def network_layout(self, raw_input: bool = False) -> "NetworkLayout":
        """What an export of the network needs besides its weights (see :func:`export_onnx`);
        ``raw_input``: of :meth:`exported_network` taking raw images."""
        from microseg.infer.onnx import NetworkLayout

        return NetworkLayout(self.in_channels, self.dims, self.divisor, self.pad_mode,
                             list(self.heads), [self.activations[name] for name, _ in self.heads],
                             dict(self.meta), raw_input)

    def exported_network(self, raw_input: bool = False) -> nn.Module:
        """The network an export traces, on the CPU: the :class:`MapsNetwork` (normalised input
        whose sizes are multiples of the divisor) or, with ``raw_input``, behind this
        predictor's normalisation and padding
        (:class:`~microseg.infer.standalone.RawInputNetwork`)."""
        if self.network is None:
            raise InputError(self.source, "this predictor runs an ONNX file already; it has no "
                                          "PyTorch network to export")
        network = self.network
        if any(p.device.type != "cpu" for p in network.parameters()):
            network = copy.deepcopy(network).cpu()
        if not raw_input:
            return network
        from microseg.infer.standalone import RawInputNetwork

        return RawInputNetwork(network, self.normalization, self.dims, self.divisor,
                               self.pad_mode)

    def uses_pseudocolor(self, z_context: str | None = None,
                         channel_axis: int | None = None) -> bool:
        """Whether stack slices get Context Aware Pseudocoloring (see :mod:`.slices`)."""
        return uses_pseudocolor(z_context or self.z_context, self.in_channels, channel_axis)

    def __repr__(self) -> str:
        name = self.source if self.source is not None else type(self.model).__name__
        return (f"Predictor({str(name)!r}, backend={self.backend!r}, dims={self.dims}, "
                f"in_channels={self.in_channels}, heads={self.heads}, tta={self.tta!r}, "
                f"precision={self.precision!r}, device={str(self.device)!r})")


def export_onnx(predictor_or_model: Predictor | nn.Module, path: str | Path,
                example_shape: tuple[int, ...], *, dynamic: bool = True,
                raw_input: bool = False) -> Path:
    """Write the network of a :class:`Predictor` (or of a model, wrapped in a default
    predictor) to ``path`` as ONNX (:func:`~microseg.infer.onnx.write_onnx`). Atomic.

    ``example_shape``: an input shape ``(N, C, *spatial)``; spatial sizes are rounded up to the
    model's divisor. ``dynamic``: batch and spatial axes dynamic (verified, see
    :mod:`microseg.infer.onnx`); ``False`` exports exactly the example size (batch stays
    dynamic). ``raw_input``: the graph takes raw images and includes the predictor's
    normalisation and padding (:mod:`microseg.infer.standalone`; for tools other than microseg).
    """
    from microseg.infer.onnx import write_onnx

    predictor = _as_predictor(predictor_or_model)
    return write_onnx(predictor.exported_network(raw_input), predictor.network_layout(raw_input),
                      path, example_shape, dynamic=dynamic)


def export_torchscript(predictor_or_model: Predictor | nn.Module, path: str | Path,
                       example_shape: tuple[int, ...], *, raw_input: bool = False) -> Path:
    """Write the network of a :class:`Predictor` (or of a model) to ``path`` as TorchScript
    (:func:`~microseg.infer.torchscript.write_torchscript`), for ``torch.jit.load``. Atomic.
    Arguments as :func:`export_onnx`; the spatial axes are always dynamic."""
    from microseg.infer.torchscript import write_torchscript

    predictor = _as_predictor(predictor_or_model)
    return write_torchscript(predictor.exported_network(raw_input),
                             predictor.network_layout(raw_input), path, example_shape)


def _as_predictor(predictor_or_model: Predictor | nn.Module) -> Predictor:
    """The predictor to export: given, or a default one (on the CPU) of a model."""
    if isinstance(predictor_or_model, Predictor):
        return predictor_or_model
    return Predictor(predictor_or_model, device="cpu")


def _check_tta(tta: str) -> str:
    check_choice("tta", tta, TTA_MODES)
    return tta
