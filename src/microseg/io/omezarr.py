"""OME-Zarr (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3) and plain Zarr arrays.

An OME-Zarr folder holds one or more images (*scenes*): the entries of its ``multiscales`` list
or, in the ``bioformats2raw.layout``, its groups ``0``, ``1``, …. The image read is the
``level``-th dataset of a scene (0 = full resolution), with axes as stored (e.g. ``(C, Z, Y, X)``
or ``(T, C, Z, Y, X)``; :func:`ome_axes` names them). :func:`ome_metadata` gives its pixel size
(the dataset's ``coordinateTransformations`` scale, times the multiscale's own, in the axes'
units) and the channel labels of its ``omero`` block. A folder that is a plain Zarr array is
read as is. Only numeric arrays are read: object arrays decode through codecs that may run code.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from microseg.errors import InputError, InputWarning
from microseg.io.spacing import micrometres


def open_ome_zarr(path: str | Path, level: int = 0, scene: int = 0) -> Any:
    """The numeric ``zarr.Array`` of resolution ``level`` of ``scene`` (lazy: nothing is read
    until sliced)."""
    import zarr

    path = Path(path)
    node = _open(path)
    if isinstance(node, zarr.Array):
        array = node
    else:
        group, multiscale = _image(path, node, scene)
        datasets = multiscale["datasets"]
        if not 0 <= level < len(datasets):
            raise InputError(path, f"resolution level {level} not available "
                                   f"({len(datasets)} levels)")
        try:
            array = group[datasets[level]["path"]]
        except (KeyError, TypeError):
            raise InputError(path, f"dataset {datasets[level]!r} listed but missing") from None
    dtype = np.dtype(getattr(array, "dtype", object))
    if dtype.kind not in "biuf":
        raise InputError(path, f"not a numeric image (dtype {dtype}); refusing to decode it")
    return array


def read_ome_zarr(path: str | Path, level: int = 0, scene: int = 0) -> np.ndarray:
    """Read resolution ``level`` of an OME-Zarr image (or a plain Zarr array) into memory."""
    stored = open_ome_zarr(path, level, scene)
    try:
        array = np.asarray(stored[...])
    except Exception as exc:  # corrupt chunks raise codec- and store-specific errors
        raise InputError(path, f"cannot read Zarr data ({type(exc).__name__}: {exc})") from None
    if array.size == 0:
        raise InputError(path, "image is empty (no pixels)")
    return array


def ome_axes(path: str | Path, scene: int = 0) -> list[str]:
    """Axis names of an OME-Zarr image, e.g. ``["c", "z", "y", "x"]`` (NGFF 0.4/0.5)."""
    path = Path(path)
    return [name for name, _ in _axes(_multiscale(path, scene)[1])]


def ome_scenes(path: str | Path) -> int:
    """How many images (scenes) an OME-Zarr folder holds (1 for a plain Zarr array)."""
    import zarr

    path = Path(path)
    node = _open(path)
    if isinstance(node, zarr.Array):
        return 1
    meta = _meta(node)
    if "bioformats2raw.layout" in meta:
        return sum(1 for key in node.group_keys() if key.isdigit())
    return len(_multiscales(path, meta))


def ome_metadata(path: str | Path, scene: int = 0) -> tuple[dict[str, float], tuple[str, ...]]:
    """Pixel sizes (upper-case space axis letter → µm) of the full-resolution dataset of
    ``scene``, and its channel labels (empty when not all channels have one). A scale without
    a length unit gives no size, with an :class:`InputWarning` when it is not 1."""
    path = Path(path)
    group, multiscale = _multiscale(path, scene)
    axes = _axes(multiscale)
    scale = np.ones(len(axes))
    for transforms in (multiscale["datasets"][0].get("coordinateTransformations"),
                       multiscale.get("coordinateTransformations")):
        scale = scale * _scale(transforms, len(axes))
    sizes, unitless = {}, []
    for (name, unit), value in zip(axes, scale):
        if name.upper() in "ZYX" and len(name) == 1:
            size = micrometres(value, unit)
            if size is not None:
                sizes[name.upper()] = size
            elif unit is None and value != 1:
                unitless.append(name)
    if unitless:
        warnings.warn(InputWarning(path, f"axes {', '.join(unitless)} have a scale but no unit: "
                                         f"pixel sizes not used (give --spacing)"), stacklevel=2)
    channels = _meta(group).get("omero", {})
    channels = channels.get("channels", []) if isinstance(channels, dict) else []
    names = tuple(str(c.get("label", "")) if isinstance(c, dict) else "" for c in channels)
    return sizes, names if all(names) else ()


def _open(path: Path) -> Any:
    import zarr

    if not path.is_dir():
        raise InputError(path, "Zarr folder not found")
    try:
        return zarr.open(str(path), mode="r")
    except Exception as exc:  # zarr raises many error types for folders that are not Zarr
        raise InputError(path, f"not a Zarr store ({type(exc).__name__}: {exc})") from None


def _multiscale(path: Path, scene: int) -> tuple[Any, dict]:
    """The group and multiscale entry of ``scene`` of the OME-Zarr folder ``path``."""
    import zarr

    node = _open(path)
    if isinstance(node, zarr.Array):
        raise InputError(path, "a plain Zarr array has no OME axes")
    return _image(path, node, scene)


def _image(path: Path, group: Any, scene: int) -> tuple[Any, dict]:
    """The group holding ``scene`` and its multiscale entry (see the module docstring)."""
    meta = _meta(group)
    if "bioformats2raw.layout" in meta:
        try:
            group = group[str(scene)]
        except (KeyError, TypeError):
            raise InputError(path, f"scene {scene} not available ({ome_scenes(path)} "
                                   f"scenes)") from None
        meta, scene = _meta(group), 0
    multiscales = _multiscales(path, meta)
    if not 0 <= scene < len(multiscales):
        raise InputError(path, f"scene {scene} not available ({len(multiscales)} scenes)")
    return group, multiscales[scene]


def _meta(group: Any) -> dict:
    """The OME metadata of a group (NGFF 0.5 nests it under ``ome``)."""
    attrs = dict(group.attrs)
    meta = attrs.get("ome", attrs)
    return meta if isinstance(meta, dict) else {}


def _multiscales(path: Path, meta: dict) -> list[dict]:
    multiscales = meta.get("multiscales")
    if not isinstance(multiscales, list) or not multiscales or not all(
            isinstance(m, dict) and isinstance(m.get("datasets"), list) and m["datasets"]
            and all(isinstance(d, dict) for d in m["datasets"]) for m in multiscales):
        raise InputError(path, "Zarr group without OME 'multiscales' metadata (or it is malformed)")
    return multiscales


def _axes(multiscale: dict) -> list[tuple[str, str | None]]:
    """(name, unit) of each axis (NGFF 0.3 lists bare names)."""
    return [(str(a.get("name", "")), a.get("unit")) if isinstance(a, dict) else (str(a), None)
            for a in multiscale.get("axes", [])]


def _scale(transforms: Any, ndim: int) -> np.ndarray:
    """The product of the ``scale`` transforms in ``transforms`` (ones without any)."""
    scale = np.ones(ndim)
    for transform in transforms if isinstance(transforms, list) else ():
        if not isinstance(transform, dict):
            continue
        values = transform.get("scale")
        if transform.get("type") == "scale" and isinstance(values, list) and len(values) == ndim:
            try:
                scale = scale * np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                continue
    return scale
