"""Pixel-edge outlines: valid polygons (shapely) whose area is the pixel count and that fill back
to exactly the object (scikit-image's polygon rasteriser)."""
import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Polygon
from skimage.draw import polygon as draw_polygon
from skimage.measure import label as connected

from microseg.io.outlines import label_outlines


def random_labels(seed, shape=(48, 56), n=18, holes=0.1):
    """Touching blobs grown from seeds, ``holes`` of the pixels knocked out: holes, ragged edges,
    parts that touch only at a corner; objects on the image border."""
    from skimage.segmentation import expand_labels

    rng = np.random.default_rng(seed)
    seeds = np.zeros(shape, np.int64)
    seeds.ravel()[rng.choice(seeds.size, n, replace=False)] = rng.choice(5000, n, replace=False) + 1
    labels = expand_labels(seeds, 5)
    labels[rng.random(shape) < holes] = 0
    return labels.astype(np.uint16)


def as_shapely(polygons):
    parts = [Polygon(rings[0], rings[1:]) for rings in polygons]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def fill(polygons, shape):
    """Pixels whose centres lie inside the rings (even-odd), by skimage.draw.polygon: pixel
    (r, c) has its centre at (c + 0.5, r + 0.5) in outline coordinates."""
    mask = np.zeros(shape, bool)
    for ring in (ring for rings in polygons for ring in rings):
        inside = np.zeros(shape, bool)
        inside[draw_polygon(ring[:, 1] - 0.5, ring[:, 0] - 0.5, shape)] = True
        mask ^= inside
    return mask


@pytest.mark.parametrize("seed", range(6))
def test_outlines_are_valid_polygons_of_exactly_the_objects_pixels(seed):
    labels = random_labels(seed, holes=0.03 * seed)
    outlines = label_outlines(labels)
    assert sorted(outlines) == sorted(set(np.unique(labels)) - {0})
    for label, polygons in outlines.items():
        mask = labels == label
        shape = as_shapely(polygons)
        assert shape.is_valid, (label, shape.wkt)
        assert shape.area == mask.sum()
        # one polygon per 4-connected part (pixels touching at a corner are separate parts)
        assert len(polygons) == connected(mask, connectivity=1).max()
        np.testing.assert_array_equal(fill(polygons, labels.shape), mask)


def test_hand_built_objects():
    labels = np.zeros((7, 8), np.uint8)
    labels[1:6, 1:6] = 1
    labels[3, 3] = 0                      # a one-pixel hole
    labels[0, 7] = labels[1, 6] = 2       # two pixels touching at a corner; one on the border
    outlines = label_outlines(labels)
    (ring_square, hole), = outlines[1]
    assert ring_square.tolist() == [[1, 1], [6, 1], [6, 6], [1, 6]]
    assert sorted(hole.tolist()) == [[3, 3], [3, 4], [4, 3], [4, 4]]
    # GeoJSON's right-hand rule in the numbers: exteriors counter-clockwise, holes clockwise
    assert Polygon(ring_square).exterior.is_ccw and not Polygon(hole).exterior.is_ccw
    assert len(outlines[2]) == 2 and as_shapely(outlines[2]).area == 2
