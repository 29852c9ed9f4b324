"""Brush fixes on label images: paint, erase, commit an object."""
import numpy as np
import pytest

from microseg.annotate import add_object, erase, paint, stroke_mask
from microseg.errors import InputError


def test_a_stroke_covers_the_pixels_within_its_radius_of_the_polyline():
    mask = stroke_mask((20, 20), [(5, 5), (5, 15), (15, 15)], 2)
    yy, xx = np.mgrid[:20, :20]
    # distance to the two segments, computed here independently
    d1 = np.where((xx >= 5) & (xx <= 15), np.abs(yy - 5), np.hypot(yy - 5, np.minimum(
        np.abs(xx - 5), np.abs(xx - 15))))
    d2 = np.where((yy >= 5) & (yy <= 15), np.abs(xx - 15), np.hypot(xx - 15, np.minimum(
        np.abs(yy - 5), np.abs(yy - 15))))
    np.testing.assert_array_equal(mask, np.minimum(d1, d2) <= 2)
    assert stroke_mask((20, 20), [(50, 50)], 3).sum() == 0          # outside: nothing


def test_paint_keeps_other_objects_unless_told_and_erase_can_spare_them():
    labels = np.zeros((10, 10), np.uint16)
    labels[:, :3] = 1
    painted = paint(labels, [(5, 0), (5, 9)], 0, value=2)
    assert (painted[5, :3] == 1).all() and (painted[5, 3:] == 2).all()
    assert (paint(labels, [(5, 0), (5, 9)], 0, value=2, overwrite=True)[5] == 2).all()
    assert labels.max() == 1                                         # input unchanged
    erased = erase(painted, [(5, 0), (5, 9)], 0, only=2)
    assert (erased[5, :3] == 1).all() and (erased[5, 3:] == 0).all()
    assert (erase(painted, [(5, 0), (5, 9)], 0)[5] == 0).all()


def test_a_committed_object_gets_the_next_id_and_leaves_others_alone():
    labels = np.zeros((6, 6), np.uint16)
    labels[0, 0] = 4
    mask = np.zeros((6, 6), bool)
    mask[0:2, 0:2] = True
    out, new = add_object(labels, mask)
    assert new == 5 and out[0, 0] == 4 and (out[mask] == [4, 5, 5, 5]).all()
    assert add_object(out, mask)[1] == 0                             # nothing left to add
    with pytest.raises(InputError, match="mask shape"):
        add_object(labels, mask[:3])
    with pytest.raises(InputError, match="integer image"):
        paint(labels.astype(float), [(0, 0)], 1, value=1)
