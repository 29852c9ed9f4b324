import numpy as np
import pytest

from microseg.data.modality import guess_modality, looks_label_free
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


def _label_free(kind: str, seed: int = 0) -> np.ndarray:
    """A 256² uint16 label-free image: mid-grey background with camera noise and a dozen cells,
    drawn as phase contrast (dark body in a bright halo) or DIC (relief: the derivative of the
    cells' optical thickness along one direction)."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:256, :256]
    thickness = np.zeros((256, 256))
    for cy, cx in rng.uniform(30, 226, (12, 2)):
        thickness[(yy - cy) ** 2 + (xx - cx) ** 2 < 15 ** 2] = 1.0
    thickness = ndi.gaussian_filter(thickness, 2)
    if kind == "phase":
        halo = ndi.gaussian_filter(thickness, 6) - thickness
        signal = -0.5 * thickness + 2.0 * np.clip(halo, 0, None)
    else:
        signal = 3.0 * ndi.sobel(thickness, axis=1) / 8
    image = 20000 + 8000 * signal + rng.normal(0, 300, signal.shape)
    return np.clip(image, 0, 65535).astype(np.uint16)


@pytest.mark.parametrize("kind", ["phase", "dic"])
def test_label_free_images_are_told_from_labelled_ones(kind):
    image = _label_free(kind)
    assert looks_label_free(image)
    assert looks_label_free(np.repeat(image[..., None], 3, axis=-1))      # grey as RGB
    # the same cells with a fluorescent label (bright on dark), in bright-field (dark on bright)
    # or stained (coloured, bright background): not label-free
    cells = (np.abs(image.astype(float) - 20000) > 2000).astype(float)
    fluorescence = (2000 + 30000 * cells).astype(np.uint16)
    assert not looks_label_free(fluorescence)
    assert not looks_label_free(65535 - fluorescence)
    assert not looks_label_free(_blobs(0.85, 0.3, rgb=(0.9, 0.6, 0.95)))
    assert not looks_label_free(np.full((32, 32), 7, np.uint8))           # flat: nothing to see
