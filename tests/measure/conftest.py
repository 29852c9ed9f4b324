"""Random label images for the measurement tests and the scikit-image reference table, renamed to
microseg's column names."""
import warnings

import numpy as np
import pytest
from skimage.measure import regionprops_table
from skimage.segmentation import expand_labels

AXES = {2: "yx", 3: "zyx"}


def random_labels(rng, shape, n, distance=4, hole_fraction=0.05, singles=4,
                  largest_id=1_000_000):
    """``n`` seeds grown by ``distance`` (touching objects), ``hole_fraction`` of the pixels
    knocked out (holes, ragged and split objects), ``singles`` extra one-pixel objects, and ids
    drawn at random from ``1..largest_id`` (non-consecutive; uint32 when large)."""
    seeds = np.zeros(shape, np.int64)
    seeds.ravel()[rng.choice(seeds.size, n, replace=False)] = np.arange(1, n + 1)
    labels = expand_labels(seeds, distance)
    labels[rng.random(shape) < hole_fraction] = 0
    background = np.flatnonzero(labels == 0)
    labels.ravel()[rng.choice(background, singles, replace=False)] = np.arange(n + 1,
                                                                               n + singles + 1)
    ids = np.zeros(n + singles + 1, np.int64)
    ids[1:] = rng.choice(np.arange(1, largest_id + 1), n + singles, replace=False)
    labels = ids[labels]
    return labels.astype(np.uint32 if largest_id > 65535 else np.uint16)


def reference(labels, image=None, spacing=None):
    """``skimage.measure.regionprops_table`` under microseg's column names (3D eccentricity from
    the inertia tensor eigenvalues; solidity may be inf where scikit-image's hull fails)."""
    ndim = labels.ndim
    properties = ["label", "area", "centroid", "bbox", "equivalent_diameter_area", "solidity",
                  "axis_major_length", "axis_minor_length",
                  "eccentricity" if ndim == 2 else "inertia_tensor_eigvals"]
    if ndim == 2:
        properties += ["orientation"]
        if spacing is None or len(set(spacing)) == 1:  # scikit-image: isotropic pixels only
            properties += ["perimeter"]
    intensity = None
    if image is not None:
        properties += ["intensity_mean", "intensity_max"]
        intensity = image if image.shape == labels.shape else np.moveaxis(image, 0, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = regionprops_table(labels, intensity, properties=properties, spacing=spacing)
    table = {"label": raw["label"], "area" if ndim == 2 else "volume": raw["area"]}
    for i, axis in enumerate(AXES[ndim]):
        table[f"centroid_{axis}"] = raw[f"centroid-{i}"]
        table[f"bbox_min_{axis}"] = raw[f"bbox-{i}"]
        table[f"bbox_max_{axis}"] = raw[f"bbox-{i + ndim}"]
    for key, values in raw.items():
        for stat in ("mean", "max"):
            if key.startswith(f"intensity_{stat}"):
                channel = key.rpartition("-")[2] if "-" in key else "0"
                table[f"{stat}_intensity_c{channel}"] = values
    table["equivalent_diameter"] = raw["equivalent_diameter_area"]
    for ours, theirs in (("perimeter", "perimeter"), ("orientation", "orientation"),
                         ("major_axis_length", "axis_major_length"),
                         ("minor_axis_length", "axis_minor_length")):
        if theirs in raw:
            table[ours] = raw[theirs]
    table["solidity"] = raw["solidity"]
    if ndim == 2:
        table["eccentricity"] = raw["eccentricity"]
    else:
        inertia = np.stack([raw[f"inertia_tensor_eigvals-{i}"] for i in range(3)], axis=1)
        trace = inertia.sum(axis=1) / 2  # inertia eigenvalue i = trace(cov) - cov eigenvalue i
        largest, smallest = trace - inertia[:, 2], trace - inertia[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            table["eccentricity"] = np.where(largest > 0, np.sqrt(1 - smallest / largest), 0.0)
    return table


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def make_labels():
    """``make_labels(seed, shape, n, **options) -> labels`` (see :func:`random_labels`)."""
    return lambda seed, shape, n, **options: random_labels(np.random.default_rng(seed), shape, n,
                                                           **options)


@pytest.fixture
def skimage_table():
    """``skimage_table(labels, image=None, spacing=None) -> dict`` (see :func:`reference`)."""
    return reference
