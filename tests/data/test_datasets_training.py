"""TrainingDataset: augmented crops, targets on the augmented labels, ignore masks, seeding."""
import numpy as np
import pytest
import torch
from skimage.draw import disk

from microseg import targets
from microseg.augment import AugmentConfig, Augmenter
from microseg.config import from_dict
from microseg.data.datasets import (
    IGNORE_INDEX,
    Sample,
    TrainingDataset,
    augment_with_ignore,
    summarize,
    target_and_weight,
)
from microseg.errors import ConfigError


def _sample(name="a", shape=(48, 56), ignore=False, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint16)
    for i, centre in enumerate([(12, 12), (30, 20), (20, 42)]):
        labels[disk(centre, 7, shape=shape)] = i + 1
    image = ((labels > 0) + 0.1 * rng.random(shape)).astype(np.float32)[None]
    mask = None
    if ignore:
        mask = np.zeros(shape, bool)
        mask[disk((38, 44), 6, shape=shape)] = True   # an unannotated cell on background
    return Sample(image=image, labels=labels, name=name, ignore=mask, meta={"source": "toy",
                                                                            "kind": "folder"})


def _augmenter(**extra):
    return Augmenter(from_dict(AugmentConfig, {"flip": True, "rot90": True, **extra}))


def test_item_target_equals_target_of_the_same_augmented_labels():
    sample = _sample()
    target = targets.build("three_class")
    augmenter = _augmenter(zoom={"p": 1.0}, elastic={"p": 1.0, "alpha": 100, "sigma": 8})
    dataset = TrainingDataset([sample], augmenter, target, crop=32, seed=7)
    dataset.set_epoch(3)
    image, target_tensor, weight = dataset[0]
    expected_image, expected_labels = Augmenter(
        from_dict(AugmentConfig, {"crop": 32, "zoom": {"p": 1.0},
                                  "elastic": {"p": 1.0, "alpha": 100, "sigma": 8}})
    )(sample.image, sample.labels, np.random.default_rng([7, 3, 0]))
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32
    assert target_tensor.dtype == torch.int64 and target_tensor.shape == (32, 32)
    np.testing.assert_array_equal(image.numpy(), expected_image)
    np.testing.assert_array_equal(target_tensor.numpy(), target(expected_labels))
    assert weight.shape == (1, 32, 32) and torch.all(weight == 1)


def test_ignore_mask_rides_through_augmentation():
    sample = _sample(ignore=True)
    target = targets.build("three_class")
    dataset = TrainingDataset([sample], _augmenter(pad=4), target, crop=40, seed=1)
    for index in range(4):
        dataset.set_epoch(index)
        _, target_tensor, weight = dataset[0]
        # the ignore mask moved exactly like labels would: augment it as a label image
        _, moved = dataset.augmenter(sample.image, sample.ignore.astype(np.uint16),
                                     np.random.default_rng([1, index, 0]))
        _, labels = dataset.augmenter(sample.image, sample.labels,
                                      np.random.default_rng([1, index, 0]))
        ignored = moved == 1
        assert target_tensor.shape == (48, 48)
        np.testing.assert_array_equal(weight[0].numpy() == 0, ignored)
        np.testing.assert_array_equal(target_tensor.numpy() == IGNORE_INDEX, ignored)
        kept = ~ignored
        np.testing.assert_array_equal(target_tensor.numpy()[kept], target(labels)[kept])


@pytest.mark.parametrize("offset", [0, 70000])
def test_labels_under_ignored_pixels_are_kept(offset):
    base = _sample(ignore=True)
    labels = np.where(base.labels > 0, base.labels.astype(np.uint32) + offset, 0).astype(
        np.uint16 if offset == 0 else np.uint32)
    ignore = base.ignore | (labels == labels.max())          # also over a whole cell
    sample = Sample(base.image, labels, "b", ignore=ignore)
    augmenter = _augmenter(crop=40, zoom={"p": 1.0})
    image, out, out_ignore = augment_with_ignore(augmenter, sample, np.random.default_rng(9))
    expected_image, expected = augmenter(sample.image, labels, np.random.default_rng(9))
    _, moved = augmenter(sample.image, ignore.astype(np.uint16), np.random.default_rng(9))
    assert out.dtype == labels.dtype
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(out_ignore, moved == 1)
    np.testing.assert_array_equal(image, expected_image)


def test_maps_target_gets_zero_weight_on_ignored_pixels():
    sample = _sample(ignore=True)
    target = targets.build("inner_distance")
    dataset = TrainingDataset([sample], _augmenter(), target, crop=[48, 56])
    _, maps, weight = dataset[0]
    assert maps.dtype == torch.float32 and maps.shape == (target.channels, 48, 56)
    assert int((weight == 0).sum()) == int(sample.ignore.sum())   # flips/rot keep the pixel count
    heads = {"inner": target, "fgbg": targets.build("fgbg")}
    out, weights = target_and_weight(heads, sample.labels, sample.ignore)
    assert set(out) == set(weights) == {"inner", "fgbg"}
    assert (out["fgbg"][sample.ignore] == IGNORE_INDEX).all()
    assert (weights["inner"][0][sample.ignore] == 0).all()


def test_contact_weight_multiplies_the_weight_of_every_head_but_not_ignored_pixels():
    sample = _sample(ignore=True)
    sample.labels[12:30, 19] = 1                  # a bridge makes cells 1 and 2 touch
    sample.labels[30, 19:21] = 2
    contact = targets.ContactWeight(weight=3.0, radius=2)
    expected = contact(sample.labels)
    expected[sample.ignore] = 0.0
    heads = {"inner": targets.build("inner_distance"), "fgbg": targets.build("fgbg")}
    _, weights = target_and_weight(heads, sample.labels, sample.ignore, contact)
    for weight in weights.values():
        np.testing.assert_array_equal(weight[0], expected)
    assert (expected == 3.0).any()
    dataset = TrainingDataset([sample], _augmenter(), heads["fgbg"], crop=[48, 56],
                              contact=contact)
    _, _, weight = dataset[0]
    # flips and rotations move the pixels, not their number
    assert int((weight == 3.0).sum()) == int((expected == 3.0).sum())


def test_seeded_per_epoch_and_index_and_independent_of_workers():
    samples = [_sample(str(i), seed=i) for i in range(3)]
    target = targets.build("binary")

    def items(dataset, workers):
        loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=workers)
        return torch.cat([batch[0] for batch in loader])

    dataset = TrainingDataset(samples, _augmenter(), target, crop=24, seed=5)
    first = items(dataset, 0)
    assert torch.equal(first, items(dataset, 2))
    dataset.set_epoch(1)
    assert not torch.equal(first, items(dataset, 0))


def test_samples_per_epoch_cycles_through_every_sample():
    samples = [_sample(str(i), seed=i) for i in range(4)]
    dataset = TrainingDataset(samples, _augmenter(), targets.build("binary"), crop=16,
                              samples_per_epoch=10)
    assert len(dataset) == 10
    shown = [dataset.sample_index(i) for i in range(10)]
    assert sorted(shown[:4]) == [0, 1, 2, 3] and sorted(shown[4:8]) == [0, 1, 2, 3]
    dataset.set_epoch(1)
    assert [dataset.sample_index(i) for i in range(10)] != shown
    with pytest.raises(IndexError):
        dataset[10]


def test_crop_conflict_and_empty_samples():
    with pytest.raises(ConfigError, match="crop"):
        TrainingDataset([_sample()], _augmenter(crop=32), targets.build("binary"), crop=16)
    with pytest.raises(Exception, match="at least one sample"):
        TrainingDataset([], _augmenter(), targets.build("binary"), crop=16)


def test_summarize_counts_per_source():
    summary = summarize([_sample("a"), _sample("b", ignore=True)])
    toy = summary["sources"]["toy"]
    assert summary["samples"] == 2
    assert toy["samples"] == 2 and toy["objects"] == 6 and toy["pixels"] == 2 * 48 * 56
    assert toy["ignored_pixels"] == int(_sample(ignore=True).ignore.sum())
    assert toy["scales"] == [1.0] and toy["channels"] == 1 and toy["ndim"] == 2
