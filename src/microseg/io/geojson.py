"""Cell outlines as a GeoJSON FeatureCollection that QuPath imports (File → Import objects).

QuPath's conventions (its ``PathObjectTypeAdapters``): one ``Feature`` per object with a
``Polygon`` or ``MultiPolygon`` geometry in pixel coordinates of the full-resolution image (origin
at the top-left corner of the first pixel; :mod:`microseg.io.outlines`), and ``properties``
holding ``objectType`` (``"detection"`` or ``"annotation"``), ``name``, an optional
``classification`` ``{"name": …}`` and ``measurements`` (name → number). A 3D label image
gives one feature per object and z-slice, its geometry carrying QuPath's
``"plane": {"c": -1, "z": z, "t": 0}``.

>>> write_geojson("out/cells.geojson", labels, table)        # doctest: +SKIP
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from microseg.errors import InputError
from microseg.io.atomic import atomic_path
from microseg.io.images import as_labels
from microseg.io.outlines import Polygon, label_outlines

OBJECT_TYPES = ("detection", "annotation")


def geojson_features(labels: np.ndarray, table: Mapping[str, np.ndarray] | None = None,
                     object_type: str = "detection",
                     classification: str | None = None) -> Iterator[dict[str, Any]]:
    """The GeoJSON features of the objects of ``labels`` ``(Y, X)`` or ``(Z, Y, X)``, in label
    order (z-slice order within an object). ``table`` (a measurement table with a ``label``
    column, e.g. :func:`microseg.measure.measure`'s) gives each feature's ``measurements``;
    values that are not finite are left out (JSON has no NaN)."""
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"object_type must be one of {OBJECT_TYPES}, got {object_type!r}")
    labels = as_labels(labels)
    rows = _rows(table)
    planes = [labels] if labels.ndim == 2 else list(labels)
    outlines = [label_outlines(plane) for plane in planes]
    for label in sorted({label for found in outlines for label in found}):
        for z, found in enumerate(outlines):
            if label not in found:
                continue
            geometry = _geometry(found[label])
            if labels.ndim == 3:
                geometry["plane"] = {"c": -1, "z": z, "t": 0}
            properties: dict[str, Any] = {"objectType": object_type, "name": str(label)}
            if classification is not None:
                properties["classification"] = {"name": classification}
            properties["measurements"] = rows.get(label, {"label": label})
            yield {"type": "Feature", "geometry": geometry, "properties": properties}


def write_geojson(path: str | Path, labels: np.ndarray,
                  table: Mapping[str, np.ndarray] | None = None, object_type: str = "detection",
                  classification: str | None = None) -> Path:
    """Write the objects of ``labels`` as a GeoJSON FeatureCollection (see
    :func:`geojson_features`). Atomic."""
    path = Path(path)
    try:
        features = list(geojson_features(labels, table, object_type, classification))
    except InputError as exc:
        raise InputError(path, exc.reason) from None
    text = json.dumps({"type": "FeatureCollection", "features": features},   # C encoder;
                      separators=(",", ":"))                                 # dump() is not
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _geometry(polygons: list[Polygon]) -> dict[str, Any]:
    """A GeoJSON Polygon (one part) or MultiPolygon; rings closed as GeoJSON wants."""
    coordinates = [[_closed(ring.tolist()) for ring in polygon] for polygon in polygons]
    if len(coordinates) == 1:
        return {"type": "Polygon", "coordinates": coordinates[0]}
    return {"type": "MultiPolygon", "coordinates": coordinates}


def _closed(ring: list[list[int]]) -> list[list[int]]:
    return ring + ring[:1]


def _rows(table: Mapping[str, np.ndarray] | None) -> dict[int, dict[str, float | int]]:
    """Label → its measurements (finite values only) from a column table."""
    if table is None:
        return {}
    columns = {name: np.asarray(values).tolist() for name, values in table.items()}
    labels = columns.get("label")
    if labels is None:
        raise InputError(None, "the measurement table has no 'label' column")
    return {int(label): {name: values[k] for name, values in columns.items()
                         if not (isinstance(values[k], float) and not math.isfinite(values[k]))}
            for k, label in enumerate(labels)}
