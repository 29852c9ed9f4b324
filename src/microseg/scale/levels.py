"""One intensity normalisation for all blocks of a large image (:class:`~microseg.preprocess.
normalize.Levels`), taken from the whole image as the model's normalisation would take it.

Blocks normalised on their own would each map their own percentiles to 0 and 1: a block of
background would be stretched into noise. So the percentiles (or extremes) are taken over the
whole image once, exactly for 8 and 16 bit images (their histograms summed block by block) and
from a regular grid of at most :data:`SAMPLES` pixels otherwise; the bright-background decision
(inversion) is made once as well, on a grid of pixels. Isolated hot pixels are not replaced as
:func:`~microseg.preprocess.normalize.normalize_percentile` replaces them in a whole image.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from microseg.infer.inputs import channels_first
from microseg.preprocess.normalize import (MEDIAN_SAMPLES, Levels, count_percentiles,
                                           finite_float32, has_bright_background)
from microseg.preprocess.stain import is_stained

if TYPE_CHECKING:
    import dask.array as da

    from microseg.infer.predictor import Predictor

#: Pixels of the grid the percentiles of other than 8 / 16 bit images are taken from, at most.
SAMPLES = 1 << 24
COUNTED = (np.dtype(np.uint8), np.dtype(np.uint16))


def image_levels(image: "da.Array", predictor: "Predictor", spatial: tuple[int, ...],
                 channel_axis: int | None, mode: str,
                 intensity_range: tuple[float, float] | None = None) -> Levels | None:
    """The :class:`Levels` of ``image`` (as read, a dask array whose spatial axes are
    ``spatial``) for ``predictor``'s normalisation; None when slices are pseudocoloured (each
    slice is scaled on its own). ``mode``: :meth:`~microseg.infer.Predictor.mode`."""
    import dask

    normalization = predictor.normalization
    if mode == "slices" and predictor.uses_pseudocolor(None, channel_axis):
        return None
    percentiles = normalization.range_percentiles()
    colour = channel_axis is None and image.ndim > len(spatial)
    counted = percentiles is not None and image.dtype in COUNTED and not colour \
        and not (normalization.method == "sequence" and intensity_range is not None)
    grid = _grid(image, spatial, MEDIAN_SAMPLES)
    if counted:
        counts, grid = dask.compute(_histograms(image, channel_axis, normalization.per_channel),
                                    grid)
        bounds = [count_percentiles(c, 0, percentiles) for c in counts]
        low, high = [b[0] for b in bounds], [b[1] for b in bounds]
    elif percentiles is None:
        low, high, grid = [0.0], [1.0], grid.compute()
    elif normalization.method == "sequence" and intensity_range is not None:
        (low, high), grid = ([intensity_range[0]], [intensity_range[1]]), grid.compute()
    else:
        sample, grid = dask.compute(_grid(image, spatial, SAMPLES), grid)
        low, high = _sample_percentiles(channels_first(sample, predictor.in_channels,
                                                       channel_axis), percentiles,
                                        normalization.per_channel)
    levels = normalization.levels(low, high)
    if not normalization.dark_background:
        return levels
    stained = mode == "2d" and colour and grid.shape[-1] in (3, 4) and is_stained(grid)
    inverted = stained or has_bright_background(
        levels.apply(channels_first(grid, predictor.in_channels, channel_axis)))
    return normalization.levels(low, high, inverted=inverted)


def _grid(image: "da.Array", spatial: tuple[int, ...], samples: int) -> "da.Array":
    """Every ``k``-th pixel of ``image`` along its ``spatial`` axes, about ``samples`` pixels."""
    pixels = float(np.prod([image.shape[a] for a in spatial]))
    step = max(1, int((pixels / samples) ** (1.0 / len(spatial))))
    return image[tuple(slice(None, None, step) if a in spatial else slice(None)
                       for a in range(image.ndim))]


def _histograms(image: "da.Array", channel_axis: int | None, per_channel: bool) -> Any:
    """The histogram of ``image`` (uint8 / uint16), one per channel along ``channel_axis`` with
    ``per_channel``: a dask array ``(C or 1, 256 | 65536)``, summed over the blocks."""
    import dask
    import dask.array as da

    span = np.iinfo(image.dtype).max + 1
    rows = image.shape[channel_axis] if per_channel and channel_axis is not None else 1

    def counts(block: np.ndarray) -> np.ndarray:
        if rows == 1:
            return np.bincount(block.ravel(), minlength=span)[None]
        return np.stack([np.bincount(c.ravel(), minlength=span)
                         for c in np.moveaxis(block, channel_axis, 0)])

    parts = [da.from_delayed(dask.delayed(counts)(block), (rows, span), np.int64)
             for block in image.to_delayed().ravel()]
    return da.stack(parts).sum(axis=0)


def _sample_percentiles(sample: np.ndarray, percentiles: tuple[float, float],
                        per_channel: bool) -> tuple[list[float], list[float]]:
    """``percentiles`` of a ``(C, *spatial)`` sample, per channel or over all of them."""
    axis = tuple(range(1, sample.ndim)) if per_channel else None
    low, high = finite_float32(sample, axis, percentiles)[1]
    return np.ravel(low).tolist(), np.ravel(high).tolist()
