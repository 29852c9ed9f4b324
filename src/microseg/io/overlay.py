"""Colour overlays: label outlines drawn in distinct colours on the normalised image.

The image is percentile-normalised (1–99.8 %, clipped) and shown in grey, or in colour for RGB(A)
input (alpha dropped). Each object's inner boundary pixels take that object's colour; colours step
round the hue circle by the golden ratio, so neighbouring ids differ strongly and an id always gets
the same colour. 3D input ``(Z, Y, X)`` (image and labels) is reduced to 2D by ``projection``:
``"middle"`` shows slice ``Z // 2``; ``"max"`` shows the maximum-intensity projection of the image
with, at each pixel, the object nearest the top (first non-zero label along z).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from microseg.errors import InputError
from microseg.io.images import as_labels, write_image

PROJECTIONS = ("middle", "max")
_GOLDEN = 0.6180339887498949


def label_colours(ids: np.ndarray) -> np.ndarray:
    """Distinct, deterministic RGB colours ``(N, 3)`` uint8 for label ids ``(N,)`` (id 0: black)."""
    ids = np.asarray(ids, dtype=np.int64)
    hue = (ids * _GOLDEN) % 1.0
    saturation = np.where(ids % 2 == 0, 0.75, 1.0)
    value = np.where(ids % 3 == 0, 0.85, 1.0)
    from skimage.color import hsv2rgb

    rgb = hsv2rgb(np.stack([hue, saturation, value], axis=-1)[None])[0]
    rgb[ids == 0] = 0
    return np.round(rgb * 255).astype(np.uint8)


def render_overlay(image: np.ndarray, labels: np.ndarray, projection: str = "middle",
                   low: float = 1.0, high: float = 99.8) -> np.ndarray:
    """Draw the outlines of ``labels`` on ``image``; returns ``(Y, X, 3)`` uint8.

    ``image`` is ``(Y, X)``, ``(Y, X, 3|4)``, ``(Z, Y, X)`` or ``(Z, Y, X, 3|4)``; ``labels`` has
    the image's spatial shape. ``low``/``high`` are the normalisation percentiles.
    """
    from skimage.segmentation import find_boundaries

    from microseg.preprocess.normalize import normalize_percentile

    image = np.asarray(image)
    labels = as_labels(labels)
    colour = image.ndim == labels.ndim + 1 and image.shape[-1] in (3, 4)
    spatial = image.shape[:-1] if colour else image.shape
    if spatial != labels.shape or labels.ndim not in (2, 3):
        raise InputError(None, f"overlay needs labels (Y, X) or (Z, Y, X) matching the image; got "
                               f"image {image.shape} and labels {labels.shape}")
    if colour:
        image = image[..., :3]
    if labels.ndim == 3:
        image, labels = _project(image, labels, projection)
    grey = normalize_percentile(image, low, high, clip=True)
    rgb = np.repeat(grey[..., None], 3, axis=-1) if grey.ndim == 2 else grey
    out = np.round(rgb * 255).astype(np.uint8)
    edges = find_boundaries(labels, mode="inner") & (labels > 0)
    ids, inverse = np.unique(labels[edges], return_inverse=True)
    out[edges] = label_colours(ids)[inverse]
    return out


def write_overlay(path: str | Path, image: np.ndarray, labels: np.ndarray,
                  projection: str = "middle") -> Path:
    """Render an overlay (see :func:`render_overlay`) and save it as PNG (or any format
    :func:`~microseg.io.images.write_image` knows from the suffix). Atomic."""
    try:
        overlay = render_overlay(image, labels, projection)
    except InputError as exc:
        raise InputError(path, exc.reason) from None
    return write_image(path, overlay)


def _project(image: np.ndarray, labels: np.ndarray, projection: str):
    if projection == "middle":
        middle = labels.shape[0] // 2
        return image[middle], labels[middle]
    if projection == "max":
        top = np.argmax(labels > 0, axis=0)
        flat = np.take_along_axis(labels, top[None], axis=0)[0]
        return image.max(axis=0), flat
    raise InputError(None, f"projection must be one of {PROJECTIONS}, got {projection!r}")
