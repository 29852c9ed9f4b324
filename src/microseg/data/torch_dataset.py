"""`TrainingDataset`: in-memory samples → augmented crops with their training targets (torch).

Each item is ``(image, target, weight)``: the augmented image ``(C, *out)`` float32, the target
computed on the augmented labels (``classes``: int64 ``(*out)`` with ``IGNORE_INDEX`` = -100 on
ignored pixels; ``maps``: float32 ``(C, *out)``) and a float32 weight ``(1, *out)`` that is 0 on
ignored pixels and 1 elsewhere (or, with a :class:`~microseg.targets.ContactWeight`, its weight
where cells touch). ``out`` is the augmenter's crop plus twice its padding.

The ignore mask rides through the geometric augmentation inside the labels: before augmentation
ignored pixels get a flag bit above every label id (bit 16, or bit 32 for ids past 65535, in a
wider integer type); the augmenter moves labels by nearest neighbour only, so the flag survives
every crop, flip, rotation, zoom and deformation, and it is split off again afterwards. The
labels themselves come out unchanged, ignored pixels included.

Reproducibility: item ``i`` of epoch ``e`` draws from ``numpy.random.default_rng([seed, e, i])``,
so a run gives the same crops whatever the number of DataLoader workers. Call
:meth:`TrainingDataset.set_epoch` before each epoch (with ``persistent_workers=False``, the
default, workers then see the new epoch).
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence, Union

import numpy as np
import torch

from microseg.augment import Augmenter
from microseg.data.sample import Sample
from microseg.errors import ConfigError, InputError
from microseg.targets import IGNORE_INDEX, ContactWeight, Target

TargetSpec = Union[Target, Mapping[str, Target]]


def target_and_weight(target: TargetSpec, labels: np.ndarray, ignore: np.ndarray | None = None,
                      contact: ContactWeight | None = None
                      ) -> tuple[np.ndarray | dict[str, np.ndarray], np.ndarray | dict[str, np.ndarray]]:
    """Training target of ``labels`` ``(*spatial)`` and its pixel weight ``(1, *spatial)``
    float32 (0 where ``ignore``; elsewhere ``contact(labels)``, or 1 without ``contact``);
    ``classes`` targets also get ``IGNORE_INDEX`` on ignored pixels. A mapping of targets (one
    per head) gives dicts keyed like it."""
    if isinstance(target, Mapping):
        pairs = {name: target_and_weight(t, labels, ignore, contact)
                 for name, t in target.items()}
        return {k: v[0] for k, v in pairs.items()}, {k: v[1] for k, v in pairs.items()}
    out = np.ascontiguousarray(target(labels))
    weight = (contact(labels) if contact is not None else np.ones(labels.shape, np.float32))[None]
    if ignore is not None:
        weight[0][ignore] = 0.0
        if target.kind == "classes":
            out[ignore] = IGNORE_INDEX
    return out, weight


class TrainingDataset(torch.utils.data.Dataset):
    """A ``torch.utils.data.Dataset`` of augmented crops of in-memory ``samples``.

    ``augmenter``: :class:`microseg.augment.Augmenter` (image and labels together); ``target``:
    a :class:`microseg.targets.Target` or a mapping ``{head: Target}``; ``crop``: output size
    before the augmenter's padding (int or per-axis list); ``None`` keeps the augmenter's own
    crop (giving both with different values is a :class:`ConfigError`). ``samples_per_epoch``:
    length of an epoch (default: one item per sample); items then cycle through the samples in
    an order shuffled per epoch. ``seed``: base of every random draw (see the module docstring).
    ``contact``: extra pixel weight where cells touch (see :func:`target_and_weight`).
    """

    def __init__(self, samples: Sequence[Sample], augmenter: Augmenter, target: TargetSpec,
                 crop: int | Sequence[int] | None = None, samples_per_epoch: int | None = None,
                 seed: int = 0, contact: ContactWeight | None = None):
        if not samples:
            raise InputError(None, "a training dataset needs at least one sample")
        if samples_per_epoch is not None and samples_per_epoch < 1:
            raise ConfigError(f"samples_per_epoch must be ≥ 1, got {samples_per_epoch}")
        self.samples = list(samples)
        self.augmenter = _with_crop(augmenter, crop)
        self.target = target
        self.samples_per_epoch = samples_per_epoch
        self.seed = int(seed)
        self.contact = contact
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the random draws of ``epoch`` (and, with ``samples_per_epoch``, its order)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.samples_per_epoch or len(self.samples)

    def sample_index(self, index: int) -> int:
        """Which sample item ``index`` of the current epoch shows."""
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} of a dataset of {len(self)}")
        n = len(self.samples)
        if self.samples_per_epoch is None:
            return index
        order = np.random.default_rng([self.seed, self.epoch, index // n, 1]).permutation(n)
        return int(order[index % n])

    def __getitem__(self, index: int):
        sample = self.samples[self.sample_index(index)]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, labels, ignore = augment_with_ignore(self.augmenter, sample, rng)
        target, weight = target_and_weight(self.target, labels, ignore, self.contact)
        if np.shares_memory(image, sample.image):  # a plain crop can be a view of the sample
            image = image.copy()
        return torch.from_numpy(image), _tensor(target), _tensor(weight)


def augment_with_ignore(augmenter: Augmenter, sample: Sample, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``augmenter`` applied to a sample's image and labels, its ignore mask carried along
    (see the module docstring) → ``(image, labels, ignore or None)``."""
    if sample.ignore is None or not sample.ignore.any():
        image, labels = augmenter(sample.image, sample.labels, rng)
        return image, labels, None
    largest = int(sample.labels.max())
    if largest >= 1 << 32:
        raise InputError(sample.meta.get("path"), f"sample {sample.name!r}: label id {largest} "
                                                  f"does not fit in 32 bits")
    bit, wide = (16, np.uint32) if largest < 1 << 16 else (32, np.uint64)
    encoded = sample.labels.astype(wide) | (sample.ignore.astype(wide) << wide(bit))
    image, encoded = augmenter(sample.image, encoded, rng)
    ignore = (encoded >> wide(bit)) > 0
    labels = (encoded & wide((1 << bit) - 1)).astype(sample.labels.dtype)
    return image, labels, ignore


def _with_crop(augmenter: Augmenter, crop: int | Sequence[int] | None) -> Augmenter:
    if crop is None:
        return augmenter
    crop = crop if isinstance(crop, int) else list(crop)
    own = augmenter.config.crop
    if own is not None and own != crop:
        raise ConfigError(f"crop {crop!r} differs from the augmenter's crop {own!r}; give one")
    return Augmenter(dataclasses.replace(augmenter.config, crop=crop))


def _tensor(value):
    if isinstance(value, dict):
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in value.items()}
    return torch.from_numpy(np.ascontiguousarray(value))
