"""Write OME-Zarr (OME-NGFF) images and label images: NGFF 0.4 on Zarr v2 (the default; read by
ome-zarr-py, napari-ome-zarr, Fiji / Bio-Formats, QuPath) or 0.5 on Zarr v3.

An image is a multiscale pyramid: level ``k`` keeps every ``2**k``-th pixel along Y and X
(nearest neighbour, so a label image keeps its ids) and carries the scale
``spacing · 2**k``, which places each kept pixel exactly where it lies in level 0.
:func:`write_ngff_labels` adds a label image to an image's ``labels/`` group as the spec asks:
listed in ``labels``'s ``labels`` metadata, with ``image-label`` metadata (``source`` pointing back
at the image), the image's spatial axes, and as many levels as the image, each sampled to that
level's grid. Both functions take numpy arrays or dask arrays; a dask array is written block by
block (each block one or more whole Zarr chunks), so a volume larger than memory can be written.

>>> write_ngff_image("cells.ome.zarr", image, "cyx", spacing=(0.65, 0.65))   # doctest: +SKIP
>>> write_ngff_labels("cells.ome.zarr", labels)                               # doctest: +SKIP
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.atomic import replace_tree

VERSIONS = ("0.4", "0.5")
#: Pyramid levels are added while the previous level's larger side exceeds this many pixels.
PYRAMID_TOP = 512
#: Chunk edge along each kind of axis (clipped to the array).
CHUNKS = {"t": 1, "c": 1, "z": 32, "y": 512, "x": 512}
AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
LABEL_NAME = "cells"


def write_ngff_image(path: str | Path, image: Any, axes: str,
                     spacing: Sequence[float] | None = None, *, version: str = "0.4",
                     levels: int | None = None, name: str | None = None) -> Path:
    """Write ``image`` (numpy or dask array with axes ``axes``, letters of ``tczyx`` in that
    order, e.g. ``"cyx"``) as a new OME-Zarr image at ``path`` (which must not exist).
    ``spacing`` is the pixel size in µm along each spatial axis (``z``, ``y``, ``x``; unknown:
    1 without unit). ``levels``: pyramid levels (default: halve until the larger of Y and X is
    at most :data:`PYRAMID_TOP`)."""
    path = Path(path)
    if version not in VERSIONS:
        raise ValueError(f"NGFF version must be one of {VERSIONS}, got {version!r}")
    axes = axes.lower()
    if len(axes) != image.ndim or axes != "".join(a for a in "tczyx" if a in axes) \
            or not {"y", "x"} <= set(axes):
        raise InputError(path, f"axes {axes!r} do not fit an image of shape {image.shape} "
                               f"(letters of 'tczyx' in that order, with y and x)")
    spatial = [a for a in axes if AXIS_TYPES[a] == "space"]
    if spacing is not None and len(spacing) != len(spatial):
        raise InputError(path, f"spacing {tuple(spacing)} does not match the spatial axes "
                               f"{''.join(spatial)}")
    if path.exists():
        raise InputError(path, "exists already; refusing to write an OME-Zarr image over it")
    levels = _default_levels(image.shape[axes.index("y")], image.shape[axes.index("x")]) \
        if levels is None else levels
    factors = [[2 ** k if a in "yx" else 1 for a in axes] for k in range(levels)]
    scale = dict(zip(spatial, spacing)) if spacing is not None else {}
    multiscale = _multiscale(axes, [[scale.get(a, 1.0) * f for a, f in zip(axes, level)]
                                    for level in factors], spacing is not None, version, name)
    group = _create_group(path, version, {"multiscales": [multiscale]})
    for k, level in enumerate(factors):
        sampled = image
        for axis, factor in enumerate(level):
            if factor > 1:
                sampled = _take(sampled, axis, np.arange(0, image.shape[axis], factor))
        _write_array(group, str(k), sampled, axes, version)
    return path


def write_ngff_labels(image_path: str | Path, labels: Any, name: str = LABEL_NAME, *,
                      overwrite: bool = False) -> Path:
    """Add ``labels`` (numpy or dask, integer, the image's spatial shape: ``(Y, X)`` or
    ``(Z, Y, X)``, singleton spatial axes of the image may be left out) to the OME-Zarr image at
    ``image_path`` as ``labels/{name}`` (see the module docstring); its version, axes, units and
    levels follow the image's. The label image is written beside its final place and renamed
    into it. An existing ``labels/{name}`` is an :class:`InputError` unless ``overwrite``.
    Returns the label image's path."""
    import zarr

    image_path = Path(image_path)
    version, multiscale, group = _image(image_path)
    axes = [axis["name"] for axis in multiscale["axes"]]
    spatial = [k for k, axis in enumerate(multiscale["axes"]) if axis.get("type") == "space"]
    arrays = [group[dataset["path"]] for dataset in multiscale["datasets"]]
    shape = [arrays[0].shape[k] for k in spatial]
    labels = _fit_labels(image_path, labels, shape)
    target = image_path / "labels" / name
    if target.exists() and not overwrite:
        raise InputError(target, "label image exists (use --overwrite to replace it)")
    labels_group = zarr.open_group(str(image_path / "labels"), mode="a",
                                   zarr_format=2 if version == "0.4" else 3)
    names = list(_ome(labels_group.attrs, version).get("labels", []))
    for left in target.parent.glob(f".{name}.*.part"):    # what a killed write left
        shutil.rmtree(left, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=target.parent))
    shutil.rmtree(staging)
    try:
        transforms = [_level_transforms(dataset, spatial) for dataset in multiscale["datasets"]]
        label_multiscale = _multiscale("".join(axes[k] for k in spatial),
                                       [scale for scale, _ in transforms],
                                       any("unit" in multiscale["axes"][k] for k in spatial),
                                       version, name,
                                       [multiscale["axes"][k] for k in spatial],
                                       [shift for _, shift in transforms])
        image_label = {"source": {"image": "../../"}}
        if version == "0.4":
            image_label["version"] = version
        label_group = _create_group(staging, version, {"multiscales": [label_multiscale],
                                                       "image-label": image_label})
        origin = transforms[0]
        for k, (array, (scale, shift)) in enumerate(zip(arrays, transforms)):
            sampled = labels
            for axis, (size, s, t) in enumerate(zip([array.shape[i] for i in spatial], scale,
                                                     shift)):
                index = np.rint((np.arange(size) * s + t - origin[1][axis]) / origin[0][axis])
                index = np.clip(index, 0, shape[axis] - 1).astype(np.int64)
                if not np.array_equal(index, np.arange(shape[axis])):
                    sampled = _take(sampled, axis, index)
            _write_array(label_group, str(k), sampled, "".join(axes[i] for i in spatial),
                         version)
        replace_tree(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if name not in names:
        _set_ome(labels_group, version, {"labels": names + [name]})
    return target


def ngff_version(path: str | Path) -> str:
    """The NGFF version of the OME-Zarr image at ``path`` (``"0.4"`` or ``"0.5"``)."""
    return _image(Path(path))[0]


def _default_levels(height: int, width: int) -> int:
    levels = 1
    while max(height, width) / 2 ** (levels - 1) > PYRAMID_TOP:
        levels += 1
    return levels


def _multiscale(axes: str, scales: list[list[float]], micrometres: bool, version: str,
                name: str | None, axis_meta: list[dict] | None = None,
                shifts: list[list[float]] | None = None) -> dict[str, Any]:
    """``multiscales`` entry: axes (µm units on spatial axes when known) and one dataset per
    level with its scale (and translation when not zero)."""
    if axis_meta is None:
        axis_meta = [{"name": a, "type": AXIS_TYPES[a],
                      **({"unit": "micrometer"} if micrometres and AXIS_TYPES[a] == "space"
                         else {})} for a in axes]
    datasets = []
    for k, scale in enumerate(scales):
        transforms: list[dict[str, Any]] = [{"type": "scale", "scale": [float(s) for s in scale]}]
        if shifts is not None and any(shifts[k]):
            transforms.append({"type": "translation",
                               "translation": [float(t) for t in shifts[k]]})
        datasets.append({"path": str(k), "coordinateTransformations": transforms})
    entry: dict[str, Any] = {"axes": [dict(meta) for meta in axis_meta], "datasets": datasets,
                             "type": "nearest"}
    if name is not None:
        entry["name"] = name
    if version == "0.4":
        entry["version"] = version
    return entry


def _create_group(path: Path, version: str, meta: dict[str, Any]) -> Any:
    import zarr

    group = zarr.open_group(str(path), mode="w-", zarr_format=2 if version == "0.4" else 3)
    _set_ome(group, version, meta)
    return group


def _set_ome(group: Any, version: str, meta: dict[str, Any]) -> None:
    """Merge ``meta`` into a group's OME metadata (top-level for 0.4, under ``ome`` for 0.5)."""
    if version == "0.4":
        group.attrs.update(meta)
    else:
        group.attrs["ome"] = {**dict(group.attrs.get("ome", {})), "version": version, **meta}


def _ome(attrs: Any, version: str) -> dict[str, Any]:
    attrs = dict(attrs)
    return dict(attrs.get("ome", {})) if version == "0.5" else attrs


def _write_array(group: Any, name: str, array: Any, axes: str, version: str) -> None:
    """Create ``group[name]`` chunked by :data:`CHUNKS` and fill it: a numpy array at once, a
    dask array block by block (rechunked to whole Zarr chunks)."""
    chunks = tuple(min(CHUNKS.get(a, 64), size) for a, size in zip(axes, array.shape))
    extra = {"dimension_names": list(axes)} if version == "0.5" else {}
    target = group.create_array(name, shape=array.shape, chunks=chunks,
                                dtype=np.dtype(array.dtype), fill_value=0, **extra)
    if _is_dask(array):
        import dask.array as da

        da.store(array.rechunk(chunks), target, lock=False)
    else:
        target[...] = np.asarray(array)


def _take(array: Any, axis: int, index: np.ndarray) -> Any:
    """``array`` at ``index`` along ``axis`` (a slice when the index is a regular stride)."""
    step = int(index[1] - index[0]) if index.size > 1 else 1
    if step > 0 and np.array_equal(index, np.arange(index[0], index[0] + step * index.size,
                                                    step)):
        key = slice(int(index[0]), int(index[0]) + step * index.size, step)
    else:
        key = index
    return array[(slice(None),) * axis + (key,)]


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"


def _image(path: Path) -> tuple[str, dict[str, Any], Any]:
    """(version, first multiscale, group) of the OME-Zarr image at ``path``."""
    import zarr

    try:
        group = zarr.open_group(str(path), mode="r+")
    except Exception as exc:  # zarr raises many error types for folders that are not Zarr
        raise InputError(path, f"not a Zarr group ({type(exc).__name__}: {exc})") from None
    attrs = dict(group.attrs)
    meta = attrs.get("ome", attrs)
    version = "0.5" if "ome" in attrs else "0.4"
    multiscales = meta.get("multiscales") if isinstance(meta, dict) else None
    if not isinstance(multiscales, list) or not multiscales \
            or not isinstance(multiscales[0], dict) or "axes" not in multiscales[0]:
        raise InputError(path, "not an OME-Zarr image (no multiscales with axes, NGFF ≥ 0.4)")
    version = str(meta.get("version", multiscales[0].get("version", version)))
    if version not in VERSIONS:
        raise InputError(path, f"NGFF version {version} not supported for writing labels "
                               f"(supported: {', '.join(VERSIONS)})")
    return version, multiscales[0], group


def _level_transforms(dataset: dict[str, Any],
                      spatial: list[int]) -> tuple[list[float], list[float]]:
    """The spatial scale and translation of one dataset (level) of a multiscale."""
    scale = [1.0] * len(spatial)
    shift = [0.0] * len(spatial)
    for transform in dataset.get("coordinateTransformations", []):
        if transform.get("type") == "scale":
            scale = [float(transform["scale"][k]) for k in spatial]
        elif transform.get("type") == "translation":
            shift = [float(transform["translation"][k]) for k in spatial]
    return scale, shift


def _fit_labels(path: Path, labels: Any, shape: list[int]) -> Any:
    """``labels`` with the image's singleton spatial axes put back, checked against ``shape``."""
    if np.dtype(labels.dtype).kind not in "iu":
        raise InputError(path, f"labels must be integers, got {labels.dtype}")
    if not _is_dask(labels):
        from microseg.io.images import as_labels

        labels = as_labels(labels, path)
    if labels.ndim < len(shape):
        missing = [k for k, size in enumerate(shape) if size == 1][:len(shape) - labels.ndim]
        for axis in missing:
            labels = labels[(slice(None),) * axis + (None,)]
    if list(labels.shape) != shape:
        raise InputError(path, f"labels of shape {tuple(labels.shape)} do not match the image's "
                               f"spatial shape {tuple(shape)}")
    return labels
