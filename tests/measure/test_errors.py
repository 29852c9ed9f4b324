import numpy as np
import pytest

from microseg.errors import InputError
from microseg.measure import measure

LABELS = np.zeros((6, 8), np.uint16)


@pytest.mark.parametrize("image", [np.zeros((6, 9)), np.zeros((8, 6)), np.zeros((6, 8, 3)),
                                   np.zeros((2, 6, 9)), np.zeros((1, 2, 6, 8))])
def test_image_not_covering_the_labels_is_rejected(image):
    with pytest.raises(InputError, match=r"cells\.tif: image shape .* does not match"):
        measure(LABELS, image, source="cells.tif")


@pytest.mark.parametrize("labels,reason", [
    (np.zeros(5, np.uint16), "must be \\(Y, X\\) or \\(Z, Y, X\\)"),
    (np.zeros((2, 2, 2, 2), np.uint16), "must be \\(Y, X\\) or \\(Z, Y, X\\)"),
    (np.full((3, 3), -1), "≥ 0"),
    (np.full((3, 3), 0.5), "whole numbers"),
])
def test_bad_labels_are_rejected(labels, reason):
    with pytest.raises(InputError, match=reason):
        measure(labels)


@pytest.mark.parametrize("spacing", [(1.0,), (1.0, 0.0), (1.0, -2.0), (1.0, np.nan), ("a", 1)])
def test_bad_spacing_is_rejected(spacing):
    with pytest.raises(InputError, match="spacing"):
        measure(LABELS, spacing=spacing)


def test_non_numeric_image_is_rejected():
    with pytest.raises(InputError, match="complex"):
        measure(LABELS, np.zeros((6, 8), np.complex64))
