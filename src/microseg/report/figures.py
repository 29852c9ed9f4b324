"""The report's pictures as ``data:`` URIs (base64 PNG), so that the page needs no other file:
overlay thumbnails and histograms of the measurements (matplotlib, no pyplot state)."""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Sequence

import numpy as np

#: Longest side (pixels) of an overlay thumbnail.
THUMBNAIL_SIDE = 256
#: Bins of every histogram.
BINS = 30


def png_data_uri(data: bytes) -> str:
    """``data`` (PNG bytes) as a ``data:image/png;base64,…`` URI."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def thumbnail(path: str | Path, side: int = THUMBNAIL_SIDE) -> str:
    """The image file ``path`` (an overlay PNG) shrunk to at most ``side`` pixels a side, as a
    data URI (area averaging, so outlines stay visible as thin lines)."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB")
        small.thumbnail((side, side), Image.Resampling.BOX)
        buffer = io.BytesIO()
        small.save(buffer, format="PNG", optimize=True)
    return png_data_uri(buffer.getvalue())


def histograms(columns: Sequence[tuple[str, np.ndarray]], bins: int = BINS) -> str:
    """One histogram per ``(title, values)`` side by side (NaN values left out), as a data
    URI."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.2 * len(columns), 2.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    for axes, (title, values) in zip(figure.subplots(1, len(columns), squeeze=False)[0],
                                     columns):
        finite = np.asarray(values, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        axes.hist(finite, bins=bins, color="#4477aa")
        axes.set_title(title, fontsize=10)
        axes.set_ylabel("objects", fontsize=9)
        axes.tick_params(labelsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return png_data_uri(buffer.getvalue())
