"""Objects from point prompts on hand-built maps (seeded watershed)."""
import numpy as np
import pytest

from microseg.errors import InputError
from microseg.post.prompted import prompted_objects

SHAPE = (40, 60)


def _disc(centre, radius):
    yy, xx = np.ogrid[:SHAPE[0], :SHAPE[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


A, B = _disc((20, 20), 9), _disc((20, 36), 9)        # two discs touching along x = 28


def _maps():
    """Foreground over both discs; interior high at the discs' centres, falling to their rims
    (a valley where they touch)."""
    from scipy import ndimage as ndi

    foreground = (A | B).astype(np.float32)
    interior = np.maximum(ndi.distance_transform_edt(A), ndi.distance_transform_edt(B)) / 9
    return foreground, interior.astype(np.float32)


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_one_point_takes_a_clump_the_model_left_whole_and_a_negative_point_cuts_it():
    foreground, interior = _maps()
    merged = (A | B).astype(np.int32)                 # the model's own object: both discs
    whole = prompted_objects(foreground, interior, [(20, 20)], others=merged)
    np.testing.assert_array_equal(whole == 1, A | B)
    cut = prompted_objects(foreground, interior, [(20, 20)], [(20, 38)], others=merged)
    assert _iou(cut == 1, A) > 0.9 and not (cut[B & ~A] == 1).any()


def test_objects_the_model_split_compete_so_one_point_takes_one_disc():
    foreground, interior = _maps()
    split = A.astype(np.int32) + 2 * (B & ~A)
    labels = prompted_objects(foreground, interior, [(20, 20)], others=split)
    assert _iou(labels == 1, A) > 0.9 and labels.max() == 1


def test_each_point_its_object_and_shared_ids_make_one_object():
    foreground, interior = _maps()
    labels = prompted_objects(foreground, interior, [(20, 20), (20, 36)], ids=[3, 7])
    assert set(np.unique(labels)) == {0, 3, 7}
    assert _iou(labels == 3, A) > 0.9 and _iou(labels == 7, B) > 0.9
    one = prompted_objects(foreground, interior, [(20, 20), (20, 36)], ids=[5, 5])
    np.testing.assert_array_equal(one == 5, A | B)


def test_a_point_on_background_gets_a_disc_of_the_typical_size():
    foreground, interior = _maps()
    labels = prompted_objects(foreground, interior, [(5, 55)], fallback_radius=3)
    np.testing.assert_array_equal(labels == 1, _disc((5, 55), 3))
    assert (prompted_objects(foreground, interior, [(5, 55)]) == 1).sum() == 1


def test_points_outside_the_image_and_bad_ids_are_refused():
    foreground, interior = _maps()
    with pytest.raises(InputError, match="outside the image"):
        prompted_objects(foreground, interior, [(40, 3)])
    with pytest.raises(InputError, match="outside the image"):
        prompted_objects(foreground, interior, [(3, 3)], [(-1, 3)])
    with pytest.raises(InputError, match="one positive integer per positive point"):
        prompted_objects(foreground, interior, [(3, 3)], ids=[0])
