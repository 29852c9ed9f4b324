"""Augmenter invariants: image and labels move together, crops and padding are what they say,
and everything is reproducible from the generator."""
import numpy as np
import pytest

from microseg.augment import AugmentConfig, Augmenter, ElasticConfig, IntensityConfig, ZoomConfig
from microseg.config import from_dict
from microseg.errors import ConfigError, InputError

EVERYTHING = dict(crop=24, pad=4, flip=True, flip_z=True, rot90=True,
                  elastic=ElasticConfig(p=1.0, alpha=60.0, sigma=4.0),
                  zoom=ZoomConfig(p=1.0, scale=(0.7, 1.4)), image_order=0)


def blobs(shape, seed=0):
    """Labels with many ids and their image: the labels as a float channel plus a ramp."""
    rng = np.random.default_rng(seed)
    labels = (rng.integers(0, 9, shape) * (rng.random(shape) < 0.8)).astype(np.uint16)
    image = np.stack([labels.astype(np.float32), rng.random(shape, dtype=np.float32)])
    return image, labels


def run(config, image, labels, seed):
    return Augmenter(config)(image, labels, np.random.default_rng(seed))


@pytest.mark.parametrize("shape", [(40, 36), (6, 40, 36)])
@pytest.mark.parametrize("seed", range(4))
def test_image_equal_to_labels_stays_equal(shape, seed):
    image, labels = blobs(shape, seed)
    out_image, out_labels = run(AugmentConfig(**EVERYTHING), image, labels, seed)
    assert out_labels.shape == shape[:-2] + (32, 32) and out_labels.dtype == labels.dtype
    assert out_image.shape == (2, *out_labels.shape) and out_image.dtype == np.float32
    np.testing.assert_array_equal(out_image[0], out_labels)
    assert set(np.unique(out_labels)) <= set(np.unique(labels))


def test_linear_interpolation_keeps_labels_to_original_ids():
    image, labels = blobs((40, 40))
    out_image, out_labels = run(AugmentConfig(**{**EVERYTHING, "image_order": 1}), image, labels, 1)
    assert set(np.unique(out_labels)) <= set(np.unique(labels))
    assert 0 <= out_image[0].min() and out_image[0].max() <= 8  # interpolated within range


def test_same_seed_same_output_other_seed_other_output():
    image, labels = blobs((30, 30))
    config = AugmentConfig(**{**EVERYTHING, "intensity": IntensityConfig(p=1.0, noise=0.1)})
    first, second, other = (run(config, image, labels, seed) for seed in (5, 5, 6))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("shape", [(20, 20), (3, 20, 20)])
def test_flip_twice_and_rotate_four_times_is_identity(shape):
    image, labels = blobs(shape)
    for config, repeats in [(AugmentConfig(rot90=False, flip_z=True), 2),
                            (AugmentConfig(flip=False), 4)]:
        for seed in range(6):
            out = (image, labels)
            for _ in range(repeats):
                out = run(config, *out, seed)
            np.testing.assert_array_equal(out[0], image)
            np.testing.assert_array_equal(out[1], labels)


def test_flips_and_rotations_are_dihedral_moves_of_the_input():
    image, labels = blobs((9, 9))
    moves = [np.rot90(flipped, k) for flipped in (labels, labels.T) for k in range(4)]
    seen = set()
    for seed in range(40):
        _, out = run(AugmentConfig(), image, labels, seed)
        index = next(i for i, move in enumerate(moves) if np.array_equal(out, move))
        seen.add(index)
    assert seen == set(range(8))


def test_crop_is_a_window_of_the_input_with_reflection_padding():
    image, labels = blobs((50, 60))
    config = AugmentConfig(crop=[16, 20], pad=3, flip=False, rot90=False)
    for seed in range(5):
        out_image, out_labels = run(config, image, labels, seed)
        assert out_labels.shape == (22, 26)
        centre = out_labels[3:-3, 3:-3]
        offsets = [(y, x) for y in range(35) for x in range(41)
                   if np.array_equal(labels[y:y + 16, x:x + 20], centre)]
        assert len(offsets) == 1
        (y, x), = offsets
        np.testing.assert_array_equal(out_image[1, 3:-3, 3:-3], image[1, y:y + 16, x:x + 20])
        np.testing.assert_array_equal(out_labels, np.pad(centre, 3, mode="reflect"))
        # reflection excludes the edge pixel: row 0 of the padding mirrors row 2 of the padded crop
        np.testing.assert_array_equal(out_labels[2], out_labels[4])


def test_image_smaller_than_the_crop_is_padded_by_reflection():
    image, labels = blobs((5, 7))
    for seed in range(5):
        _, out = run(AugmentConfig(crop=12, flip=False, rot90=False), image, labels, seed)
        assert out.shape == (12, 12)
        candidates = [np.pad(labels, ((a, 7 - a), (b, 5 - b)), mode="reflect")
                      for a in range(8) for b in range(6)]
        assert any(np.array_equal(out, c) for c in candidates)


def test_3d_crop_keeps_z_and_rotates_in_plane():
    image, labels = blobs((4, 30, 30))
    _, out = run(AugmentConfig(crop=10, rot90=False, flip=False), image, labels, 0)
    assert out.shape == (4, 10, 10)
    for seed in range(8):
        _, out = run(AugmentConfig(flip=False), image, labels, seed)
        assert any(np.array_equal(out, np.rot90(labels, k, (1, 2))) for k in range(4))


def test_zoom_magnifies():
    labels = np.repeat(np.arange(32, dtype=np.uint16), 4)[None].repeat(8, axis=0)  # stripes 4 wide
    image = labels[None].astype(np.float32)
    config = AugmentConfig(flip=False, rot90=False, zoom=ZoomConfig(p=1.0, scale=(2.0, 2.0)))
    for seed in range(3):
        _, out = run(config, image, labels, seed)
        assert out.shape == labels.shape
        runs = np.diff(np.flatnonzero(np.diff(out[4].astype(int)) != 0))
        assert np.all(runs == 8)                       # every whole stripe is now 8 wide
        assert np.all(out == out[4])                   # rows stay identical


def test_elastic_with_zero_alpha_is_a_plain_crop():
    image, labels = blobs((30, 30))
    elastic = AugmentConfig(crop=12, flip=False, rot90=False,
                            elastic=ElasticConfig(p=1.0, alpha=0.0, sigma=3.0))
    _, out = run(elastic, image, labels, 2)
    assert any(np.array_equal(out, labels[y:y + 12, x:x + 12])
               for y in range(19) for x in range(19))
    _, moved = run(AugmentConfig(crop=12, flip=False, rot90=False,
                                 elastic=ElasticConfig(p=1.0, alpha=300.0, sigma=3.0)),
                   image, labels, 2)
    assert not np.array_equal(moved, out)


def test_intensity_changes_only_the_image():
    image, labels = blobs((16, 16))
    image = image / image.max()
    doubled = IntensityConfig(p=1.0, gamma=(1.0, 1.0), scale=(2.0, 2.0), shift=(0.5, 0.5))
    out_image, out_labels = run(AugmentConfig(flip=False, rot90=False, intensity=doubled),
                                image, labels, 0)
    np.testing.assert_allclose(out_image, image * 2 + 0.5, rtol=1e-6)
    np.testing.assert_array_equal(out_labels, labels)
    squared = IntensityConfig(p=1.0, gamma=(2.0, 2.0), scale=(1.0, 1.0), shift=(0.0, 0.0))
    out_image, _ = run(AugmentConfig(flip=False, rot90=False, intensity=squared), image, labels, 0)
    low, high = image[1].min(), image[1].max()
    expected = low + (high - low) * ((image[1] - low) / (high - low)) ** 2
    np.testing.assert_allclose(out_image[1], expected, rtol=1e-5)


def test_noise_has_the_drawn_strength():
    image = np.zeros((1, 200, 200), np.float32)
    config = AugmentConfig(flip=False, rot90=False, intensity=IntensityConfig(
        p=1.0, gamma=(1.0, 1.0), scale=(1.0, 1.0), shift=(0.0, 0.0), noise=0.3))
    stds = [run(config, image, np.zeros((200, 200), np.uint8), seed)[0].std() for seed in range(20)]
    # the standard deviation is drawn uniformly from [0, 0.3]
    assert max(stds) <= 0.3 * 1.05 and np.mean(stds) == pytest.approx(0.15, abs=0.05)


def test_configuration_from_a_dict_and_bad_values():
    config = from_dict(AugmentConfig, {"crop": 64, "pad": 8, "elastic": {"p": 0.5},
                                       "zoom": {"p": 1.0, "scale": [0.5, 2.0]}})
    assert config.elastic.alpha == 2500 and config.zoom.scale == (0.5, 2.0)
    for bad in [{"crop": 0}, {"crop": [1]}, {"pad": -1}, {"elastic": {"p": 2.0}},
                {"zoom": {"scale": [2.0, 1.0]}}, {"intensity": {"noise": -1}}, {"image_order": 7}]:
        with pytest.raises(ConfigError):
            from_dict(AugmentConfig, bad)


def test_bad_input():
    augmenter = Augmenter(AugmentConfig(crop=[4, 4, 4]))
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="crop"):
        augmenter(np.zeros((1, 8, 8), np.float32), np.zeros((8, 8), np.uint8), rng)
    with pytest.raises(InputError, match="spatial shape"):
        Augmenter()(np.zeros((8, 8), np.float32), np.zeros((8, 8), np.uint8), rng)
    with pytest.raises(InputError, match="Generator"):
        Augmenter()(np.zeros((1, 8, 8), np.float32), np.zeros((8, 8), np.uint8), 0)
    with pytest.raises(InputError, match="integers"):
        Augmenter()(np.zeros((1, 8, 8), np.float32), np.zeros((8, 8), np.float32), rng)
