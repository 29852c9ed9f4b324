"""Cell outlines as an ImageJ / Fiji ROI Manager zip (``roifile``).

One ROI per object (per object and z-slice for a ``(Z, Y, X)`` stack), named after its label
(``"17"``; ``"17-z3"`` for slice 3 of a stack, counted from 1 as Fiji does) and, in a stack,
set to its slice (``position``). An object of one part without holes is a traced polygon ROI
(the wand tool's kind) along its pixel edges (:mod:`microseg.io.outlines`); an object with holes
or several parts is a composite (shape) ROI holding all its rings. Fiji fills either to exactly
the object's pixels.

>>> write_imagej_rois("out/cells_rois.zip", labels)          # doctest: +SKIP
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from microseg.io.atomic import atomic_path
from microseg.io.images import as_labels
from microseg.io.outlines import Polygon, label_outlines

#: ``java.awt.geom.PathIterator`` segment types of a composite ROI's path.
_MOVETO, _LINETO, _CLOSE = 0, 1, 4


def imagej_rois(labels: np.ndarray) -> list:
    """``roifile.ImagejRoi`` objects of the objects of ``labels`` ``(Y, X)`` or ``(Z, Y, X)``,
    in label order (slice order within an object)."""
    labels = as_labels(labels)
    planes = [labels] if labels.ndim == 2 else list(labels)
    outlines = [label_outlines(plane) for plane in planes]
    rois = []
    for label in sorted({label for found in outlines for label in found}):
        for z, found in enumerate(outlines):
            if label in found:
                name = str(label) if labels.ndim == 2 else f"{label}-z{z + 1}"
                rois.append(_roi(found[label], name, None if labels.ndim == 2 else z))
    return rois


def write_imagej_rois(path: str | Path, labels: np.ndarray) -> Path:
    """Write the objects of ``labels`` as an ImageJ ROI zip (see :func:`imagej_rois`). Atomic."""
    path = Path(path)
    rois = imagej_rois(labels)
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for roi in rois:
            archive.writestr(f"{roi.name}.roi", roi.tobytes())
    return path


def _roi(polygons: list[Polygon], name: str, z: int | None):
    """A traced polygon ROI for one ring, else a composite ROI of every ring."""
    from roifile import ROI_TYPE, ImagejRoi

    if len(polygons) == 1 and len(polygons[0]) == 1:
        roi = ImagejRoi.frompoints(polygons[0][0], name=name, position=z)
        roi.roitype = ROI_TYPE.TRACED
        return roi
    rings = [ring for polygon in polygons for ring in polygon]
    path = []
    for ring in rings:
        steps = np.full(len(ring), _LINETO, np.float64)
        steps[0] = _MOVETO
        path += np.column_stack([steps, ring]).ravel().tolist() + [_CLOSE]
    corners = np.vstack(rings)
    roi = ImagejRoi(roitype=ROI_TYPE.RECT, name=name, shape_roi_size=len(path),
                    multi_coordinates=np.array(path, np.float32))
    roi.left, roi.top = (int(v) for v in corners.min(axis=0))
    roi.right, roi.bottom = (int(v) for v in corners.max(axis=0))
    if z is not None:
        roi.position = z + 1
    return roi
