"""Colour overlays of label outlines on images."""
from __future__ import annotations

import numpy as np
import pytest

from microseg.errors import InputError
from microseg.io import read_array
from microseg.io.overlay import label_colours, render_overlay, write_overlay


def _scene():
    labels = np.zeros((20, 30), np.uint16)
    labels[2:10, 3:12] = 1
    labels[12:18, 15:27] = 7
    image = np.linspace(0, 1000, 20 * 30).reshape(20, 30).astype(np.uint16)
    return image, labels


def _inner_edge(mask):
    """Pixels of ``mask`` with a 4-neighbour outside it (computed independently of skimage)."""
    padded = np.pad(mask, 1)
    inside = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inside


def test_outlines_take_object_colours_and_the_rest_stays_grey():
    image, labels = _scene()
    out = render_overlay(image, labels)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    colours = label_colours(np.array([1, 7]))
    edges = np.zeros(labels.shape, bool)
    for colour, k in zip(colours, (1, 7)):
        edge = _inner_edge(labels == k)
        edges |= edge
        assert np.all(out[edge] == colour)
    rest = out[~edges]
    assert np.all(rest[:, 0] == rest[:, 1]) and np.all(rest[:, 1] == rest[:, 2])
    # percentile normalisation: the ramp's ends are mapped to black and white
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255


def test_rgb_image_keeps_colour():
    image, labels = _scene()
    rgb = np.stack([image, image // 2, np.zeros_like(image)], axis=-1)
    out = render_overlay(rgb, labels)
    assert out[19, 0, 0] > out[19, 0, 1] > out[19, 0, 2] == 0
    rgba = np.concatenate([rgb, np.full(image.shape + (1,), 9, image.dtype)], axis=-1)
    np.testing.assert_array_equal(render_overlay(rgba, labels), out)


def test_colours_are_distinct_and_deterministic():
    colours = label_colours(np.arange(1, 61))
    assert len({tuple(c) for c in colours}) == 60
    np.testing.assert_array_equal(label_colours(np.array([0, 5])), [[0, 0, 0], colours[4]])


def test_3d_middle_slice_and_max_projection():
    image, labels = _scene()
    volume = np.stack([image // 2, image, image // 3])
    stack = np.zeros((3,) + labels.shape, np.uint16)
    stack[1] = labels
    stack[0, 0:5, 20:25] = 4                    # only in the top slice
    stack[2, 2:10, 3:12] = 9                    # below object 1: hidden by it in the projection
    np.testing.assert_array_equal(render_overlay(volume, stack), render_overlay(image, labels))
    top = labels.copy()
    top[0:5, 20:25] = 4
    np.testing.assert_array_equal(render_overlay(volume, stack, projection="max"),
                                  render_overlay(volume.max(axis=0), top))


def test_bad_input():
    image, labels = _scene()
    with pytest.raises(InputError, match="matching the image"):
        render_overlay(image, labels[:5])
    with pytest.raises(InputError, match="projection"):
        render_overlay(np.stack([image] * 2), np.stack([labels] * 2), projection="sum")
    with pytest.raises(InputError, match="≥ 0"):
        render_overlay(image, -labels.astype(np.int32))


def test_write_overlay_png(tmp_path):
    image, labels = _scene()
    path = write_overlay(tmp_path / "o.png", image, labels)
    np.testing.assert_array_equal(read_array(path), render_overlay(image, labels))
    with pytest.raises(InputError, match="bad.png"):
        write_overlay(tmp_path / "bad.png", image, labels[:3])
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]
