"""The measurements table: one row per object, columns as numpy arrays, and its CSV file."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.atomic import atomic_path
from microseg.io.images import as_labels
from microseg.measure.hull import convex_count
from microseg.measure.intensity import intensity_mean_max
from microseg.measure.moments import axis_lengths, eccentricity, equivalent_diameter, \
    geometry, orientation
from microseg.measure.perimeter import perimeter
from microseg.measure.runs import label_runs

AXES = {2: ("y", "x"), 3: ("z", "y", "x")}


def measure(labels: np.ndarray, image: np.ndarray | None = None,
            spacing: Sequence[float] | None = None, *,
            source: str | Path | None = None) -> dict[str, np.ndarray]:
    """Measure every object of ``labels`` ``(Y, X)`` or ``(Z, Y, X)`` (0 = background).

    ``image`` is ``None``, one channel of the labels' shape (``(Y, X)`` / ``(Z, Y, X)``) or
    channels first (``(C, Y, X)`` / ``(C, Z, Y, X)``; move a trailing channel axis with
    ``np.moveaxis(image, -1, 0)``). ``spacing`` ``(d,)`` is the pixel size along each axis in µm.
    ``source`` names the input in error messages.

    Returns columns (1-D arrays, one row per object, labels increasing; zero rows for an empty
    image; ``pandas.DataFrame(table)`` makes a data frame of it), in pixel units:

    - ``label`` (int64); ``area`` (2D) or ``volume`` (3D): pixel count (int64);
    - ``centroid_z``, ``centroid_y``, ``centroid_x``: mean pixel coordinate;
    - ``bbox_min_*`` / ``bbox_max_*`` (int64): first pixel and one past the last (half-open);
    - ``mean_intensity_c{k}``, ``max_intensity_c{k}`` for each channel ``k`` (float64);
    - ``equivalent_diameter``: diameter of the disc / ball of the same area / volume;
    - 2D only: ``perimeter`` (:func:`~microseg.measure.perimeter.perimeter`) and ``orientation``
      (radians, :func:`~microseg.measure.moments.orientation`);
    - ``major_axis_length``, ``minor_axis_length``: axes of the ellipse / ellipsoid with the same
      second moments (:func:`~microseg.measure.moments.axis_lengths`);
    - ``eccentricity``: ``sqrt(1 − λ_min/λ_max)`` of the coordinate covariance; in 2D that of the
      ellipse with the same second moments, in 3D that of the ellipse through the longest and
      shortest axis of the equivalent ellipsoid (:func:`~microseg.measure.moments.eccentricity`);
    - ``solidity``: pixel count / convex pixel count (scikit-image's definition, exact).

    With ``spacing`` the µm columns ``area_um2`` / ``volume_um3``, ``centroid_*_um``,
    ``equivalent_diameter_um``, ``perimeter_um`` (2D; NaN when the Y and X pixel sizes differ,
    where scikit-image's perimeter has no definition either), ``major_axis_um`` and
    ``minor_axis_um`` are appended, and ``eccentricity`` and ``orientation`` describe the
    physically scaled objects. Bounding boxes stay in pixel indices; solidity is a ratio of
    pixel counts in either case. All definitions match ``skimage.measure.regionprops`` (with
    the same ``spacing`` for the µm columns).

    >>> table = measure(np.array([[1, 1, 0], [0, 2, 2]]), image=np.array([[1, 3, 9], [9, 4, 6]]))
    >>> table["area"].tolist(), table["mean_intensity_c0"].tolist()
    ([2, 2], [2.0, 5.0])
    """
    labels = as_labels(labels, source)
    if labels.ndim not in AXES:
        raise InputError(source, f"labels must be (Y, X) or (Z, Y, X), got shape {labels.shape}")
    channels = _channels(image, labels.shape, source)
    scale = _spacing(spacing, labels.ndim, source)
    ndim, axes = labels.ndim, AXES[labels.ndim]
    size_name = "area" if ndim == 2 else "volume"
    runs = label_runs(labels)
    stats = geometry(runs)
    table: dict[str, np.ndarray] = {"label": runs.ids.astype(np.int64), size_name: stats.count}
    for name, array in (("centroid", stats.centroid), ("bbox_min", stats.bbox_min),
                        ("bbox_max", stats.bbox_max)):
        for axis, letter in enumerate(axes):
            table[f"{name}_{letter}"] = array[:, axis]
    for k, channel in enumerate(channels):
        table[f"mean_intensity_c{k}"], table[f"max_intensity_c{k}"] = intensity_mean_max(
            runs, channel, stats.count)
    table["equivalent_diameter"] = equivalent_diameter(stats.count, ndim)
    if ndim == 2:
        table["perimeter"] = perimeter(labels, runs)
        table["orientation"] = orientation(stats.covariance, scale)
    table["major_axis_length"], table["minor_axis_length"] = axis_lengths(stats.covariance)
    table["eccentricity"] = eccentricity(stats.covariance, scale)
    table["solidity"] = stats.count / convex_count(runs)
    if scale is not None:
        physical_size = stats.count * float(np.prod(scale))
        table[f"{size_name}_um{ndim}"] = physical_size
        for axis, letter in enumerate(axes):
            table[f"centroid_{letter}_um"] = table[f"centroid_{letter}"] * scale[axis]
        table["equivalent_diameter_um"] = equivalent_diameter(physical_size, ndim)
        if ndim == 2:
            isotropic = scale[0] == scale[1]
            table["perimeter_um"] = table["perimeter"] * (scale[0] if isotropic else np.nan)
        table["major_axis_um"], table["minor_axis_um"] = axis_lengths(stats.covariance, scale)
    return table


def _channels(image: np.ndarray | None, shape: tuple[int, ...],
              source: str | Path | None) -> list[np.ndarray]:
    """The image as a list of channels of the labels' ``shape``."""
    if image is None:
        return []
    image = np.asarray(image)
    if image.dtype.kind not in "biuf":
        raise InputError(source, f"image must be boolean, integer or float, got {image.dtype}")
    if image.shape == shape:
        return [image]
    if image.ndim == len(shape) + 1 and image.shape[1:] == shape:
        return list(image)
    raise InputError(source, f"image shape {image.shape} does not match label shape {shape}: "
                             f"expected {shape} or (C, *{shape}) (channels first; move a "
                             f"trailing channel axis with np.moveaxis(image, -1, 0))")


def _spacing(spacing: Sequence[float] | None, ndim: int,
             source: str | Path | None) -> np.ndarray | None:
    if spacing is None:
        return None
    try:
        scale = np.asarray(spacing, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(source, f"spacing must be {ndim} numbers, got {spacing!r}") from None
    if scale.shape != (ndim,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise InputError(source, f"spacing must be {ndim} positive numbers (one per axis), "
                                 f"got {spacing!r}")
    return scale


def write_measurements_csv(path: str | Path, table: Mapping[str, np.ndarray]) -> Path:
    """Write ``table`` (column name → 1-D array, as returned by :func:`measure`) as CSV with a
    header row. Integers are written as integers, floats with full round-trip precision. Atomic:
    the file appears only when complete."""
    path = Path(path)
    if not table:
        raise InputError(path, "measurement table has no columns")
    columns = {str(name): np.asarray(values) for name, values in table.items()}
    lengths = {name: values.shape for name, values in columns.items()}
    if any(len(shape) != 1 for shape in lengths.values()) or len(set(lengths.values())) != 1:
        raise InputError(path, f"every column must be 1-D with the same length, got {lengths}")
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(zip(*(values.tolist() for values in columns.values())))
    return path


def read_measurements_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read a table written by :func:`write_measurements_csv` → column name → 1-D float64 array
    (``label`` and the other integer columns as int64). A missing file, a file without a header
    or a cell that is not a number raises :class:`InputError` naming the file.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.csv"
    >>> table = read_measurements_csv(write_measurements_csv(path, {"label": [1, 2],
    ...                                                            "area": [3, 4.5]}))
    >>> table["label"].tolist(), table["area"].tolist()
    ([1, 2], [3.0, 4.5])
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the measurements ({exc})") from None
    if not rows:
        raise InputError(path, "measurement table has no header row")
    header, body = rows[0], rows[1:]
    if any(len(row) != len(header) for row in body):
        raise InputError(path, f"every row must have the header's {len(header)} cells")
    table = {}
    for name, cells in zip(header, zip(*body) if body else [()] * len(header)):
        try:
            values = np.array([float(c) for c in cells], dtype=np.float64)
        except ValueError:
            raise InputError(path, f"column {name!r} holds a cell that is not a number") from None
        integral = all(c.lstrip("-").isdigit() for c in cells)
        table[name] = values.astype(np.int64) if integral else values
    return table
