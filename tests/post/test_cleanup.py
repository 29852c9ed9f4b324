import numpy as np
import pytest

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


def _fill_holes_reference(labels):
    """Hole filling spelt with scipy: background components (face-connected) off the border
    whose full-connectivity rim holds exactly one object and no other background."""
    from scipy import ndimage as ndi

    out = labels.copy()
    holes, n = ndi.label(labels == 0)
    border = set(np.unique(np.concatenate([np.take(holes, i, axis=a).ravel()
                                           for a in range(labels.ndim) for i in (0, -1)])))
    structure = ndi.generate_binary_structure(labels.ndim, labels.ndim)
    for hole_id in range(1, n + 1):
        if hole_id in border:
            continue
        hole = holes == hole_id
        rim = ndi.binary_dilation(hole, structure) & ~hole
        owners = np.unique(labels[rim])
        if len(owners) == 1 and owners[0] > 0:
            out[hole] = owners[0]
    return out


@pytest.mark.parametrize("shape, seed", [((40, 50), 0), ((40, 50), 1), ((9, 20, 20), 2)])
def test_fill_holes_matches_a_scipy_reference_on_random_labels(shape, seed):
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    blobs = ndi.label(ndi.gaussian_filter(rng.random(shape), 1.5) > 0.5)[0]
    labels = np.where(rng.random(shape) < 0.15, 0, blobs).astype(np.uint16)   # pepper holes
    expected = _fill_holes_reference(labels)
    assert (expected != labels).any()                      # the case has holes to fill
    np.testing.assert_array_equal(fill_holes(labels), expected)
