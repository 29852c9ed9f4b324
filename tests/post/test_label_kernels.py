"""The numba label kernels against their numpy spellings."""
import numpy as np

from microseg.post.label_kernels import (above_in, keep_labels, label_peaks, label_sizes, lookup,
                                         owners, replace_where)


def test_kernels_equal_numpy():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 9, size=(30, 20)).astype(np.int32)
    values = rng.random((30, 20)).astype(np.float32)
    table = rng.random(9) > 0.5
    flat = labels.ravel()
    np.testing.assert_array_equal(label_sizes(flat, 12), np.bincount(flat, minlength=12))
    peaks = np.zeros(9, np.float32)
    np.maximum.at(peaks, flat, values.ravel())
    np.testing.assert_array_equal(label_peaks(flat, values.ravel(), 9), peaks)
    np.testing.assert_array_equal(lookup(flat, table), table[flat])
    np.testing.assert_array_equal(above_in(values.ravel(), 0.3, flat, table),
                                  (values.ravel() > 0.3) & table[flat])
    np.testing.assert_array_equal(keep_labels(labels, table), np.where(table[labels], labels, 0))
    other = rng.integers(1, 5, size=flat.size).astype(np.int32)
    where = rng.random(flat.size) > 0.5
    np.testing.assert_array_equal(replace_where(flat, where, other, 100),
                                  np.where(where, other + 100, flat))


def test_owners_names_the_outer_label_of_each_inner_one():
    outer = np.array([[1, 1, 0, 2, 2, 2]], np.int32)
    inner = np.array([[3, 3, 0, 1, 0, 2]], np.int32)
    np.testing.assert_array_equal(owners(inner.ravel(), outer.ravel(), 5), [0, 2, 2, 1, 0])
