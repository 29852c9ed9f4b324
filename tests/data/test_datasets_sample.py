"""Sample checks, object-diameter rescaling and the sparse-GT ignore rule."""
import numpy as np
import pytest
from scipy import ndimage
from skimage.draw import disk
from skimage.measure import regionprops
from skimage.morphology import disk as disk_footprint

from microseg.data.rescale import (
    equivalent_diameters,
    median_diameter,
    rescale_sample,
    scale_to_diameter,
)
from microseg.data.sample import Sample
from microseg.data.sparse import unannotated_mask
from microseg.errors import InputError


def _discs(shape, centres, radius, ids=None):
    labels = np.zeros(shape, np.uint16)
    for i, c in enumerate(centres):
        labels[disk(c, radius, shape=shape)] = i + 1 if ids is None else ids[i]
    return labels


def _sample(labels, **kw):
    image = labels.astype(np.float32)[None] / max(1, labels.max())
    return Sample(image=image, labels=labels, name="s", **kw)


def test_sample_checks_shapes_and_dtypes():
    labels = np.zeros((8, 9), np.uint16)
    s = Sample(np.zeros((1, 8, 9), np.float32), labels, name="a", meta={"path": "x.tif"})
    assert s.group == "a" and s.channels == 1 and s.spatial_shape == (8, 9)
    with pytest.raises(InputError, match="x.tif"):
        Sample(np.zeros((1, 8, 8), np.float32), labels, name="a", meta={"path": "x.tif"})
    with pytest.raises(InputError, match="float32"):
        Sample(np.zeros((1, 8, 9), np.float64), labels, name="a")
    with pytest.raises(InputError, match="unsigned"):
        Sample(np.zeros((1, 8, 9), np.float32), labels.astype(np.int32), name="a")
    with pytest.raises(InputError, match="ignore"):
        Sample(np.zeros((1, 8, 9), np.float32), labels, name="a", ignore=np.zeros((8, 9), np.uint8))


def test_equivalent_diameters_match_regionprops_in_2d_and_3d():
    labels = np.zeros((20, 20), np.uint16)
    labels[0:10, 0:10] = 3          # 100 px, id 1 and 2 absent
    labels[15:17, 15:20] = 7        # 10 px
    expected = [r.equivalent_diameter_area for r in regionprops(labels)]
    np.testing.assert_allclose(equivalent_diameters(labels), expected, rtol=1e-12)
    assert equivalent_diameters(labels)[0] == pytest.approx(2 * np.sqrt(100 / np.pi))
    cube = np.zeros((5, 5, 5), np.uint16)
    cube[:3, :3, :3] = 1
    cube[4, 4, 3:] = 2
    expected = [r.equivalent_diameter_area for r in regionprops(cube)]
    np.testing.assert_allclose(equivalent_diameters(cube), expected, rtol=1e-12)
    assert equivalent_diameters(cube)[0] == pytest.approx(np.cbrt(6 * 27 / np.pi))
    assert np.isnan(median_diameter(np.zeros((4, 4), np.uint16)))


def test_rescale_sample_doubles_size_and_keeps_ids():
    labels = _discs((40, 50), [(10, 10), (25, 30)], 6)
    ignore = np.zeros_like(labels, bool)
    ignore[30:, :10] = True
    s = rescale_sample(_sample(labels, ignore=ignore, meta={"scale": 0.5}), 2.0)
    assert s.spatial_shape == (80, 100) and s.image.shape == (1, 80, 100)
    assert s.image.dtype == np.float32 and s.labels.dtype == labels.dtype
    assert set(np.unique(s.labels)) == {0, 1, 2}
    assert s.ignore.sum() == 4 * ignore.sum()
    assert s.meta["scale"] == pytest.approx(1.0)
    ratio = median_diameter(s.labels) / median_diameter(labels)
    assert ratio == pytest.approx(2.0, rel=0.05)


def test_scale_to_diameter_reaches_target():
    a = _sample(_discs((64, 64), [(16, 16), (40, 40)], 10))
    b = _sample(_discs((64, 64), [(30, 30)], 10))
    out = scale_to_diameter([a, b], diameter=10.0)
    assert all(s.meta["scale"] == pytest.approx(10.0 / median_diameter(a.labels)) for s in out)
    assert median_diameter([s.labels for s in out]) == pytest.approx(10.0, abs=1.0)
    small = _sample(_discs((64, 64), [(30, 30)], 5))
    each = scale_to_diameter([a, small], diameter=15.0, per_sample=True)
    assert each[0].meta["scale"] < 1 < each[1].meta["scale"]
    with pytest.raises(InputError, match="no object"):
        scale_to_diameter([_sample(np.zeros((8, 8), np.uint16))], 10.0)


def test_unannotated_cell_is_ignored():
    """One cell with SEG, one with only a TRA marker: the second is ignored, the first is not."""
    shape = (40, 80)
    seg = _discs(shape, [(20, 20)], 8)                    # annotated cell, D ≈ 16
    markers = _discs(shape, [(20, 20), (20, 60)], 3)       # marker 1 inside it, marker 2 alone
    margin = 2
    ignore = unannotated_mask(seg, markers, margin=margin)
    cell2 = _discs(shape, [(20, 60)], 8) > 0
    assert ignore[cell2].all()                             # the unlabelled cell is covered
    assert not (ignore & (seg > 0)).any()                  # known labels are never ignored
    assert not ignore[:, :40].any()                        # nothing near the annotated cell
    # independent expectation: marker 2 dilated by margin + (D_seg - D_marker) / 2 pixels
    d_seg = 2 * np.sqrt((seg > 0).sum() / np.pi)
    d_marker = 2 * np.sqrt((markers == 2).sum() / np.pi)
    radius = int(np.floor(margin + (d_seg - d_marker) / 2))
    expected = ndimage.binary_dilation(markers == 2, structure=disk_footprint(radius))
    assert np.array_equal(ignore, expected & (seg == 0))


def test_no_ignore_when_every_marker_is_annotated_or_only_margin_without_seg():
    shape = (30, 30)
    seg = _discs(shape, [(10, 10), (20, 22)], 5)
    markers = _discs(shape, [(10, 10), (20, 22)], 2, ids=[4, 9])
    assert not unannotated_mask(seg, markers).any()
    empty = np.zeros(shape, np.uint16)
    only_margin = unannotated_mask(empty, markers, margin=1)
    expected = ndimage.binary_dilation(markers > 0, structure=disk_footprint(1))
    assert np.array_equal(only_margin, expected)
    with pytest.raises(InputError, match="shape"):
        unannotated_mask(seg, markers[:10])
