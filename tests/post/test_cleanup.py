import numpy as np

from microseg.post.cleanup import fill_holes, finalize_labels, remove_small_objects


def test_fill_holes_only_fills_holes_enclosed_by_one_object():
    labels = np.zeros((12, 20), np.uint16)
    labels[1:8, 1:8] = 3
    labels[3:5, 3:5] = 0           # a hole inside object 3 → filled with 3
    labels[1:8, 10:13] = 4
    labels[1:8, 14:17] = 5
    labels[1, 13] = labels[7, 13] = 4
    labels[2:7, 13] = 0            # a gap enclosed by objects 4 and 5 → stays background
    filled = fill_holes(labels)
    assert (filled[3:5, 3:5] == 3).all()
    assert (filled[2:7, 13] == 0).all()
    assert (filled[9:, :] == 0).all()  # background touching the border is not a hole
    np.testing.assert_array_equal(filled[labels > 0], labels[labels > 0])


def test_fill_holes_3d():
    labels = np.zeros((5, 6, 6), np.uint16)
    labels[:, 1:5, 1:5] = 2
    labels[2, 2:4, 2:4] = 0
    assert (fill_holes(labels)[2, 2:4, 2:4] == 2).all()


def test_remove_small_and_relabel():
    labels = np.zeros((10, 10), np.uint32)
    labels[0:3, 0:3] = 7   # 9 px
    labels[5:6, 5:7] = 9   # 2 px
    labels[8:10, 8:10] = 70000
    kept = remove_small_objects(labels, 3)
    assert set(np.unique(kept)) == {0, 7, 70000}
    final = finalize_labels(labels, min_size=3)
    assert final.dtype == np.uint16 and set(np.unique(final)) == {0, 1, 2}
    assert (final[0:3, 0:3] == 1).all() and (final[8:, 8:] == 2).all()


def test_finalize_matches_skimage_relabel_sequential_on_random_labels():
    from skimage.segmentation import relabel_sequential

    rng = np.random.default_rng(3)
    labels = rng.choice([0, 3, 17, 70000, 12], size=(40, 50)).astype(np.uint32)
    expected, _, _ = relabel_sequential(labels)
    final = finalize_labels(labels)
    assert final.dtype == np.uint16
    np.testing.assert_array_equal(final, expected)
