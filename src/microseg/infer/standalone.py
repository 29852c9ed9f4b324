"""A network that takes raw images: the predictor's normalisation, padding and network in one
``torch.nn.Module``, for export to tools that know nothing of microseg (ONNX, TorchScript).

:class:`RawInputNetwork` maps a raw batch ``(N, C, *spatial)`` float32 (any size; ``C`` the
model's input channels) to the activated maps ``(N, ΣK, *spatial)``, computing, per image of the
batch, what :class:`~microseg.infer.Predictor` computes for an image that fits in one tile at
the model's scale without TTA:

- percentile normalisation (:func:`~microseg.preprocess.normalize.normalize_percentile`: the
  recorded percentiles, numpy's linear interpolation, over all channels together or per channel;
  ``minmax`` and ``sequence`` use the image's own extremes) and the clipping of outliers to
  ``[-OUTLIER_SPANS, 1 + OUTLIER_SPANS]``;
- the inversion of bright-background images when the model records ``dark_background``
  (median of the normalised image's regular grid sample above
  :data:`~microseg.preprocess.normalize.BRIGHT_BACKGROUND`);
- the padding to a multiple of the model's down-sampling factor (``pad_mode``, split evenly;
  ``replicate`` when an axis is too short to reflect) and the crop back.

All shapes are computed by tensor operations, so a trace (ONNX, TorchScript) works at any size.
Not included (they stay with microseg): the replacement of isolated hot pixels and of non-finite
pixels (NaN / inf reach the network as they are), the stain rule for RGB images (the input is
the model's channels, e.g. grey for a one-channel model), resampling to the model's scale
(``meta.scale`` / object diameter), tiling, TTA, sequence-wide intensity ranges and the
post-processing.
"""
from __future__ import annotations

import torch
from torch import nn

from microseg.config import check_choice
from microseg.models.base import PAD_MODES
from microseg.preprocess.normalize import BRIGHT_BACKGROUND, MEDIAN_SAMPLES, OUTLIER_SPANS, \
    Normalization

#: The part of the predictor's preparation this module reproduces, and what it leaves out: the
#: text exported files carry in their metadata and documentation.
INCLUDED = ("percentile normalisation per image (numpy's linear percentiles), outliers clipped "
            f"to [-{OUTLIER_SPANS:g}, {1 + OUTLIER_SPANS:g}], bright-background inversion when "
            "the model records dark_background, padding to the model's down-sampling factor "
            "and the crop back, the output activations")
EXCLUDED = ("hot-pixel and non-finite pixel replacement, the stain rule for RGB images (the "
            "input holds the model's channels), resampling to the model's scale, tiling, "
            "test-time augmentation and the instance post-processing")


def percentiles(values: torch.Tensor, quantiles: tuple[float, ...]) -> torch.Tensor:
    """Percentiles of each row of ``values`` ``(R, M)`` → ``(R, len(quantiles))`` float32, as
    ``np.percentile(row, 100 * q)`` (linear interpolation between the sorted values, computed in
    float64)."""
    ordered = torch.sort(values, dim=1).values.double()
    count = _size(values, 1).double()
    out = []
    for q in quantiles:
        position = (count - 1) * q
        floor = torch.floor(position)
        below = floor.long().expand(values.shape[0], 1)
        above = torch.minimum(floor + 1, count - 1).long().expand(values.shape[0], 1)
        gamma = position - floor
        a, b = ordered.gather(1, below), ordered.gather(1, above)
        diff = b - a
        out.append(torch.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma))
    return torch.cat(out, dim=1).float()


def _size(x: torch.Tensor, axis: int) -> torch.Tensor:
    """The length of ``x`` along ``axis`` as a 0-d long tensor (a trace keeps it dynamic)."""
    return torch.full((), x.shape[axis], dtype=torch.long)


def _median(values: torch.Tensor) -> torch.Tensor:
    """Median of each row of ``values`` ``(R, M)`` → ``(R,)``, as ``np.median`` (mean of the
    two middle values of an even count)."""
    ordered = torch.sort(values, dim=1).values
    count = _size(values, 1)
    lower = ((count - 1) // 2).expand(values.shape[0], 1)
    upper = (count // 2).expand(values.shape[0], 1)
    return (ordered.gather(1, lower) + ordered.gather(1, upper))[:, 0] / 2


def _pad_index(index: torch.Tensor, size: torch.Tensor, replicate: torch.Tensor) -> torch.Tensor:
    """``index`` (positions along an axis of length ``size``, some outside it) mapped inside
    by reflection as ``F.pad`` reflects, or to the nearest edge pixel when ``replicate``."""
    reflected = torch.where(index < 0, -index, index)
    reflected = torch.where(reflected >= size, 2 * (size - 1) - reflected, reflected)
    clamped = torch.minimum(torch.clamp(index, min=0), size - 1)
    return torch.where(replicate, clamped, reflected)


class RawInputNetwork(nn.Module):
    """``network`` (a :class:`~microseg.infer.runners.MapsNetwork`) behind the predictor's
    normalisation and padding (see the module docstring): raw ``(N, C, *spatial)`` float32 →
    maps ``(N, ΣK, *spatial)``.

    ``dims``: spatial axes (2 or 3); ``divisor`` / ``pad_mode``: the model's padding.
    """

    def __init__(self, network: nn.Module, normalization: Normalization, dims: int,
                 divisor: int, pad_mode: str = "reflect"):
        super().__init__()
        check_choice("pad_mode", pad_mode, PAD_MODES)
        self.network = network
        self.normalization = normalization
        self.dims, self.divisor, self.pad_mode = int(dims), int(divisor), pad_mode
        self.eval()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Raw ``(N, C, *spatial)`` → normalised (and inverted where the rule says so)."""
        norm = self.normalization
        if norm.method == "none":
            return x.float()
        rows = x.reshape(x.shape[0] * x.shape[1], -1) if norm.per_channel \
            else x.reshape(x.shape[0], -1)
        quantiles = (0.0, 1.0) if norm.method != "percentile" \
            else tuple(p / 100 for p in norm.percentiles)
        bounds = percentiles(rows, quantiles)
        low, high = bounds[:, :1], bounds[:, 1:]
        span = torch.clamp(high - low, min=1e-6)
        out = ((rows - low) / span).reshape(x.shape)
        if norm.method == "percentile":
            out = torch.clamp(out, -OUTLIER_SPANS, 1.0 + OUTLIER_SPANS)
        if norm.dark_background:
            bright = _median(self._grid_sample(out).reshape(x.shape[0], -1)) > BRIGHT_BACKGROUND
            bright = bright.reshape((-1,) + (1,) * (x.dim() - 1))
            out = torch.where(bright, 1.0 - out, out)
        return out

    def _grid_sample(self, x: torch.Tensor) -> torch.Tensor:
        """Every ``k``-th pixel along each spatial axis, ``k`` as
        :func:`~microseg.preprocess.normalize.has_bright_background` picks it."""
        per_image = _size(x[0].reshape(-1), 0).double()
        step = torch.clamp(torch.floor((per_image / MEDIAN_SAMPLES) ** (1.0 / self.dims)),
                           min=1).long()
        for axis in range(2, x.dim()):
            x = x.index_select(axis, torch.arange(0, _size(x, axis), step))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalize(x)
        if self.divisor == 1:
            return self.network(x)
        axes = range(2, x.dim())
        sizes = [_size(x, axis) for axis in axes]
        totals = [torch.remainder(-size, self.divisor) for size in sizes]
        befores = [torch.div(total, 2, rounding_mode="floor") for total in totals]
        replicate = torch.tensor(self.pad_mode == "replicate")
        for size, before, total in zip(sizes, befores, totals):   # too short to reflect
            replicate = replicate | (total - before >= size)
        for axis, size, before, total in zip(axes, sizes, befores, totals):
            index = torch.arange(0, size + total, dtype=torch.long) - before
            if self.pad_mode == "constant":                      # zeros outside
                inside = ((index >= 0) & (index < size)).to(x.dtype)
                shape = [1] * x.dim()
                shape[axis] = -1
                x = x.index_select(axis, torch.clamp(index, 0) % size) * inside.reshape(shape)
            else:
                x = x.index_select(axis, _pad_index(index, size, replicate))
        y = self.network(x)
        for axis, size, before in zip(axes, sizes, befores):
            y = y.index_select(axis, torch.arange(0, size) + before)
        return y
