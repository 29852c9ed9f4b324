import numpy as np
from scipy import ndimage as ndi

from microseg.metrics import match
from microseg.post.watershed import center_watershed, distance_watershed, mesmer_watershed


def _touching_disks(shape=(64, 96), centres=((32, 30), (32, 58), (12, 80)), radius=13):
    yy, xx = np.indices(shape)
    labels = np.zeros(shape, np.uint16)
    for i, (cy, cx) in enumerate(centres, start=1):
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
        labels[disk & (labels == 0)] = i
    return labels, centres


def _inner_distance(labels):
    """Mesmer's inner distance 1 / (1 + r / sqrt(area)), computed here independently."""
    out = np.zeros(labels.shape, np.float32)
    yy, xx = np.indices(labels.shape)
    for i in range(1, labels.max() + 1):
        mask = labels == i
        cy, cx = yy[mask].mean(), xx[mask].mean()
        r = np.hypot(yy[mask] - cy, xx[mask] - cx)
        out[mask] = 1.0 / (1.0 + r / np.sqrt(mask.sum()))
    return out


def test_mesmer_watershed_recovers_touching_cells():
    labels, _ = _touching_disks()
    interior = ndi.binary_erosion(labels > 0, iterations=1).astype(np.float32)
    result = mesmer_watershed(_inner_distance(labels), interior)
    m = match(labels, result, iou=0.8)
    assert result.max() == 3 and m.tp == 3 and m.fp == 0


def test_distance_watershed_splits_two_overlapping_disks():
    labels, _ = _touching_disks(centres=((32, 30), (32, 56)))
    result = distance_watershed((labels > 0).astype(np.float32), min_distance=8)
    assert result.max() == 2
    assert match(labels, result, iou=0.8).tp == 2


def test_distance_watershed_anisotropic_sampling_3d():
    zz, yy, xx = np.indices((12, 40, 60))
    # two ellipsoids, flat in z in voxel units (z spacing 3× the xy spacing)
    a = ((zz - 6) * 3) ** 2 + (yy - 20) ** 2 + (xx - 18) ** 2 <= 12 ** 2
    b = ((zz - 6) * 3) ** 2 + (yy - 20) ** 2 + (xx - 40) ** 2 <= 12 ** 2
    truth = np.where(a, 1, np.where(b, 2, 0)).astype(np.uint16)
    result = distance_watershed(truth > 0, sampling=(3.0, 1.0, 1.0), min_distance=6)
    assert result.max() == 2 and match(truth, result, iou=0.8).tp == 2


def test_center_watershed_uses_heatmap_markers():
    labels, centres = _touching_disks()
    yy, xx = np.indices(labels.shape)
    heatmap = np.zeros(labels.shape, np.float32)
    for cy, cx in centres:
        heatmap = np.maximum(heatmap, np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 4.0 ** 2)))
    result = center_watershed(heatmap, (labels > 0).astype(np.float32))
    assert result.max() == 3 and match(labels, result, iou=0.8).tp == 3
    # without a marker for the third cell, its pixels cannot become an object of their own
    heatmap_two = heatmap * (xx < 70)
    assert center_watershed(heatmap_two, (labels > 0).astype(np.float32)).max() == 2
