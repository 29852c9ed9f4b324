"""Stained transmitted-light images are told by their colour, not by how dense they are."""
import numpy as np

from microseg.preprocess.channels import to_channels
from microseg.preprocess.normalize import Normalization, has_bright_background
from microseg.preprocess.stain import COLOUR_SPREAD, STAINED_BRIGHTNESS, is_stained

PINK, PURPLE, WHITE = (230, 150, 200), (90, 60, 150), (250, 250, 250)


def _tissue(nucleus_share: float) -> np.ndarray:
    """A 20×20 uint8 RGB field: the first ``nucleus_share`` of its pixels purple nuclei, a white
    lumen of 20 pixels at the end, pink cytoplasm between."""
    pixels = np.tile(np.array(PINK, np.uint8), (400, 1))
    pixels[: int(400 * nucleus_share)] = PURPLE
    pixels[-20:] = WHITE
    return pixels.reshape(20, 20, 3)


def test_dense_tissue_fools_the_brightness_rule_but_not_the_stain_rule():
    dense = _tissue(0.6)
    grey = Normalization()(to_channels(dense, 1))
    assert not has_bright_background(grey)        # most pixels are nuclei: median is dark
    assert is_stained(dense)
    # median brightness: the purple nuclei's (90 + 60 + 150) / 3 / 255 ≈ 0.39 > 0.3
    assert np.mean(PURPLE) / 255 > STAINED_BRIGHTNESS
    assert is_stained(_tissue(0.2))


def test_fluorescence_and_grey_images_are_not_stained():
    composite = np.zeros((20, 20, 3), np.uint8)
    composite[5:10, 5:10] = (0, 0, 255)              # blue nuclei, green spots, black background
    composite[12:14, 12:14] = (0, 255, 0)
    assert not is_stained(composite)
    grey_field = np.full((20, 20, 3), 200, np.uint8)  # bright, but R = G = B: bright-field
    grey_field[5:10, 5:10] = 60
    assert not is_stained(grey_field)
    assert not is_stained(grey_field[..., 0])


def test_the_thresholds_hand_computed():
    # brightness just either side of 0.3 of full scale, clearly coloured
    for level, expected in ((0.29, False), (0.31, True)):
        rgb = np.zeros((4, 4, 3), np.float32) + level
        rgb[..., 0] += 0.1
        rgb[..., 1] -= 0.1                            # spread 0.2, mean brightness = level
        assert is_stained(rgb) is expected
    # colour spread just either side of 0.03
    for spread, expected in ((0.02, False), (0.04, True)):
        rgb = np.full((4, 4, 3), 0.8, np.float32)
        rgb[..., 0] += spread
        assert is_stained(rgb) is expected and (spread > COLOUR_SPREAD) is expected


def test_normalisation_inverts_a_stained_image_whatever_its_median():
    image = Normalization()(to_channels(_tissue(0.6), 1))
    norm = Normalization(dark_background=True)
    out, inverted = norm.apply(to_channels(_tissue(0.6), 1), stained=True)
    assert inverted and np.allclose(out, 1.0 - image)
    assert norm.apply(to_channels(_tissue(0.6), 1))[1] is False
