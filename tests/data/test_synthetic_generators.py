"""Synthetic generators: determinism by seed and exact ground truth."""
import numpy as np
import pytest
from scipy import ndimage
from skimage.draw import polygon2mask
from skimage.measure import label as connected

from microseg.data import synthetic
from microseg.errors import ConfigError

SMALL = {
    "nuclei2d": dict(shape=(48, 48), diameter=10),
    "cells2d": dict(shape=(64, 64), diameter=16),
    "nuclei3d": dict(shape=(8, 40, 40), diameter=10),
    "em": dict(shape=(3, 48, 48), diameter=16),
    "timelapse": dict(shape=(48, 48), n_frames=4, n_cells=3, diameter=10),
}


def arrays(result):
    if isinstance(result, synthetic.SyntheticTimelapse):
        return [result.images, result.labels, result.markers, result.tracks,
                *(result.seg[t] for t in sorted(result.seg))]
    return [result.image, result.labels]


def test_all_generators_registered():
    assert synthetic.available() == sorted(SMALL)


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_same_seed_same_data_other_seed_other_data(kind):
    first = arrays(synthetic.generate(kind, seed=5, **SMALL[kind]))
    again = arrays(synthetic.generate(kind, seed=5, **SMALL[kind]))
    other = arrays(synthetic.generate(kind, seed=6, **SMALL[kind]))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[1], other[1])


def test_generator_function_equals_registry_build():
    direct = synthetic.nuclei2d(3, **SMALL["nuclei2d"])
    built = synthetic.GENERATORS.build("nuclei2d", seed=3, **SMALL["nuclei2d"])
    assert np.array_equal(direct.labels, built.labels)
    image, labels = direct
    assert image is direct.image and labels is direct.labels


def compose(shape, masks):
    """Expected labels: object k (from 1) where its mask is and no later mask covers it."""
    expected = np.zeros(shape, dtype=np.int64)
    for k, mask in enumerate(masks, start=1):
        expected[mask] = k
    return expected


def check_drawn_objects(labels, masks, min_visible):
    assert np.array_equal(labels, compose(labels.shape, masks))
    n = len(masks)
    assert n > 0 and set(np.unique(labels)) == set(range(n + 1))
    visible = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    drawn = np.array([m.sum() for m in masks])
    assert np.all(visible >= min_visible * drawn)
    for k in range(1, n + 1):
        assert ndimage.label(labels == k)[1] == 1, f"object {k} is not one piece"
    return visible, drawn


@pytest.mark.parametrize("kind, params", [
    ("nuclei2d", dict(shape=(96, 96), diameter=12, cluster=0.8)),
    ("cells2d", dict(shape=(96, 96), diameter=20)),
])
def test_2d_labels_are_the_drawn_polygons_later_on_top(kind, params):
    sample = synthetic.generate(kind, seed=1, **params)
    assert sample.image.shape == sample.labels.shape == params["shape"]
    assert sample.image.dtype == np.uint16 and sample.labels.dtype == np.uint16
    masks = [polygon2mask(params["shape"], v) for v in sample.polygons]
    visible, drawn = check_drawn_objects(sample.labels, masks, min_visible=0.6)
    assert np.any(visible < drawn), "some objects should overlap"
    assert len(synthetic.touching_pairs(sample.labels)) > 0, "some objects should touch"


def test_nuclei2d_brighter_inside_nuclei_and_background_uneven():
    sample = synthetic.nuclei2d(2, shape=(128, 128), diameter=12, read_noise=0.0, photons=1e4)
    inside, outside = sample.labels > 0, sample.labels == 0
    assert sample.image[inside].mean() > 2.0 * sample.image[outside].mean()
    far = ndimage.distance_transform_edt(outside) > 8
    background = ndimage.uniform_filter(sample.image.astype(float), 9)[far]
    assert background.max() - background.min() > 0.03 * 1e4 * 0.15


def test_nuclei2d_object_count_and_size_follow_parameters():
    sample = synthetic.nuclei2d(0, shape=(128, 128), diameter=14, n_objects=20, cluster=0.0)
    assert sample.labels.max() == 20
    sizes = np.bincount(sample.labels.ravel())[1:]
    assert 0.5 * np.pi * 7 ** 2 < np.median(sizes) < 1.5 * np.pi * 7 ** 2


def test_cells2d_phase_halo_bright_outside_dark_inside():
    sample = synthetic.cells2d(4, shape=(128, 128), diameter=24, noise=0.0)
    image = sample.image.astype(float)
    outside = ndimage.distance_transform_edt(sample.labels == 0)
    ring, far = (outside > 0) & (outside <= 2), outside > 10
    inside = ndimage.binary_erosion(sample.labels > 0, iterations=2)
    assert image[ring].mean() > image[far].mean() > image[inside].mean()


def test_nuclei3d_labels_are_the_drawn_ellipsoids():
    shape = (10, 48, 48)
    sample = synthetic.nuclei3d(0, shape=shape, diameter=12, cluster=0.8)
    assert sample.image.shape == shape and sample.image.dtype == np.uint16
    points = np.indices(shape).reshape(3, -1).T.astype(float)
    masks = []
    for ell in sample.ellipsoids:
        d = points - ell.centre
        masks.append((np.sum((d @ ell.matrix) * d, axis=1) <= 1.0).reshape(shape))
    check_drawn_objects(sample.labels, masks, min_visible=0.6)
    inside, outside = sample.labels > 0, sample.labels == 0
    assert sample.image[inside].mean() > 1.5 * sample.image[outside].mean()


@pytest.mark.parametrize("anisotropy", [2.0, 4.0])
def test_nuclei3d_objects_span_fewer_slices_than_pixels(anisotropy):
    sample = synthetic.nuclei3d(1, shape=(12, 64, 64), diameter=14, anisotropy=anisotropy)
    ratios, thin = [], []
    for k in range(1, sample.labels.max() + 1):
        z, y, x = np.nonzero(sample.labels == k)
        if z.size > 30 and 0 < z.min() and z.max() < 11:
            ratios.append(z.var() * anisotropy ** 2 / (0.5 * (y.var() + x.var())))
            thin.append(z.var() < y.var() + x.var())
    assert len(ratios) >= 5
    assert 0.5 < np.median(ratios) < 2.0  # round in physical units
    assert np.mean(thin) > 0.8  # flat in voxel units


def test_nuclei3d_intensity_falls_off_towards_top_and_bottom():
    def edge_to_middle(falloff):
        sample = synthetic.nuclei3d(2, shape=(16, 48, 48), diameter=14, falloff=falloff,
                                    anisotropy=1.5, read_noise=0.0, photons=1e4, background=0.0)
        ratios = []
        for k in range(1, sample.labels.max() + 1):
            z = np.nonzero(sample.labels == k)[0]
            middle = int(round(sample.ellipsoids[k - 1].centre[0]))
            values = {s: sample.image[s][sample.labels[s] == k].mean() for s in np.unique(z)}
            if middle in values and len(values) >= 5:
                ratios.append(0.5 * (values[z.min()] + values[z.max()]) / values[middle])
        return np.mean(ratios)

    assert edge_to_middle(0.9) < 0.8 * edge_to_middle(0.0)


def test_em_membranes_separate_all_instances():
    sample = synthetic.em(3, shape=(4, 96, 96), diameter=24)
    labels = sample.labels
    assert sample.image.dtype == np.uint8 and labels.shape == (4, 96, 96)
    assert set(np.unique(labels)) == set(range(labels.max() + 1))
    for z in range(labels.shape[0]):
        ids = np.unique(labels[z][labels[z] > 0])
        for connectivity in (1, 2):
            components = connected(labels[z] > 0, connectivity=connectivity)
            pairs = np.unique(np.stack([components[labels[z] > 0], labels[z][labels[z] > 0]]),
                              axis=1)
            assert pairs.shape[1] == components.max() == len(ids)
    membrane = labels == 0
    assert 0.05 < membrane.mean() < 0.4
    assert sample.image[membrane].mean() < 0.6 * sample.image[~membrane].mean()
    isbi = synthetic.isbi_labels(labels)
    assert isbi.dtype == np.uint8 and set(np.unique(isbi)) == {0, 255}


def test_em_geometry_changes_slowly_along_z():
    labels = synthetic.em(0, shape=(5, 96, 96), diameter=24, drift=1.0).labels
    ious = []
    for z in range(4):
        for k in np.unique(labels[z][labels[z] > 0]):
            a, b = labels[z] == k, labels[z + 1] == k
            ious.append((a & b).sum() / (a | b).sum())
    assert np.median(ious) > 0.7


def test_em_single_section_is_2d():
    sample = synthetic.em(0, shape=(64, 64), diameter=20)
    assert sample.image.shape == sample.labels.shape == (64, 64)


@pytest.mark.parametrize("kind, params", [
    ("nuclei2d", dict(shape=(4, 4))),
    ("nuclei2d", dict(shape=(32, 32, 32))),
    ("nuclei2d", dict(diameter=-3)),
    ("cells2d", dict(halo=2.0)),
    ("nuclei3d", dict(anisotropy=0.0)),
    ("em", dict(membrane_width=1)),
    ("timelapse", dict(markers="cross")),
    ("timelapse", dict(sparse=1.0)),
    ("timelapse", dict(unknown_parameter=1)),
])
def test_bad_parameters_raise_config_error(kind, params):
    with pytest.raises(ConfigError):
        synthetic.generate(kind, **params)


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_bad_seed_raises_config_error(seed):
    with pytest.raises(ConfigError, match="seed"):
        synthetic.generate("nuclei2d", seed=seed, shape=(32, 32))


def test_unknown_generator_raises_config_error():
    with pytest.raises(ConfigError, match="synthetic generator: 'plants' is not one of"):
        synthetic.generate("plants")
