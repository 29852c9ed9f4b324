import numpy as np
import pytest

from microseg.data.modality import guess_modality
from microseg.errors import InputError


def _blobs(background: float, foreground: float, rgb=(1.0, 1.0, 1.0)) -> np.ndarray:
    """A 64² uint8 RGBA image: a background level with three nuclei of another level."""
    yy, xx = np.mgrid[:64, :64]
    grey = np.full((64, 64), background)
    for cy, cx in [(16, 16), (40, 20), (30, 48)]:
        grey[(yy - cy) ** 2 + (xx - cx) ** 2 < 36] = foreground
    image = np.stack([grey * c for c in rgb] + [np.ones_like(grey)], axis=-1)
    return np.round(image * 255).astype(np.uint8)


def test_dark_background_is_fluorescence_even_when_coloured():
    assert guess_modality(_blobs(0.05, 0.8)) == "fluorescence"
    assert guess_modality(_blobs(0.05, 0.8, rgb=(0.2, 1.0, 0.3))) == "fluorescence"
    assert guess_modality(_blobs(0.05, 0.8)[..., 0]) == "fluorescence"


def test_bright_grey_is_brightfield_and_bright_coloured_is_he():
    assert guess_modality(_blobs(0.85, 0.3)) == "brightfield"
    assert guess_modality(_blobs(0.85, 0.3, rgb=(0.9, 0.6, 0.95))) == "he"


def test_float_images_use_unit_scale_and_bad_shapes_are_rejected():
    assert guess_modality(np.full((8, 8), 0.9, np.float32)) == "brightfield"
    with pytest.raises(InputError, match="shape"):
        guess_modality(np.zeros((4, 8, 8, 2), np.uint8), "x.tif")
