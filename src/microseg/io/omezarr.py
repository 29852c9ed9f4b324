"""OME-Zarr (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3) and plain Zarr arrays.

The image is the ``level``-th dataset of the first multiscale (0 = full resolution), with axes as
stored (e.g. ``(C, Z, Y, X)`` or ``(T, C, Z, Y, X)``; :func:`ome_axes` names them). A folder that
is a plain Zarr array is read as is.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from microseg.errors import InputError


def open_ome_zarr(path: str | Path, level: int = 0) -> Any:
    """The ``zarr.Array`` of resolution ``level`` (lazy: nothing is read until sliced)."""
    import zarr

    path = Path(path)
    node = _open(path)
    if isinstance(node, zarr.Array):
        return node
    datasets = _multiscale(path, node)["datasets"]
    if not 0 <= level < len(datasets):
        raise InputError(path, f"resolution level {level} not available ({len(datasets)} levels)")
    try:
        return node[datasets[level]["path"]]
    except (KeyError, TypeError):
        raise InputError(path, f"dataset {datasets[level]!r} listed but missing") from None


def read_ome_zarr(path: str | Path, level: int = 0) -> np.ndarray:
    """Read resolution ``level`` of an OME-Zarr image (or a plain Zarr array) into memory. Only
    numeric arrays are read (object arrays decode through codecs that may run code)."""
    stored = open_ome_zarr(path, level)
    dtype = np.dtype(getattr(stored, "dtype", object))
    if dtype.kind not in "biuf":
        raise InputError(path, f"not a numeric image (dtype {dtype}); refusing to decode it")
    try:
        array = np.asarray(stored[...])
    except Exception as exc:  # corrupt chunks raise codec- and store-specific errors
        raise InputError(path, f"cannot read Zarr data ({type(exc).__name__}: {exc})") from None
    if array.size == 0:
        raise InputError(path, "image is empty (no pixels)")
    return array


def ome_axes(path: str | Path) -> list[str]:
    """Axis names of an OME-Zarr image, e.g. ``["c", "z", "y", "x"]`` (NGFF 0.4/0.5)."""
    import zarr

    node = _open(Path(path))
    if isinstance(node, zarr.Array):
        raise InputError(path, "a plain Zarr array has no OME axes")
    axes = _multiscale(Path(path), node).get("axes", [])
    return [a["name"] if isinstance(a, dict) else str(a) for a in axes]


def _open(path: Path) -> Any:
    import zarr

    if not path.is_dir():
        raise InputError(path, "Zarr folder not found")
    try:
        return zarr.open(str(path), mode="r")
    except Exception as exc:  # zarr raises many error types for folders that are not Zarr
        raise InputError(path, f"not a Zarr store ({type(exc).__name__}: {exc})") from None


def _multiscale(path: Path, group: Any) -> dict:
    attrs = dict(group.attrs)
    meta = attrs.get("ome", attrs)  # NGFF 0.5 nests its metadata under "ome"
    multiscales = meta.get("multiscales") if isinstance(meta, dict) else None
    first = multiscales[0] if isinstance(multiscales, list) and multiscales else None
    if not isinstance(first, dict) or not isinstance(first.get("datasets"), list) \
            or not first["datasets"] or not all(isinstance(d, dict) for d in first["datasets"]):
        raise InputError(path, "Zarr group without OME 'multiscales' metadata (or it is malformed)")
    return first
