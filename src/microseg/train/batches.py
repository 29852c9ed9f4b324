"""Endless, reproducible minibatch streams, one per dataset (or one for the pooled data).

Stream ``k`` visits the ``n`` items of its :class:`~microseg.data.datasets.TrainingDataset` in
epochs: epoch ``e`` is a permutation drawn from ``(seed, k, e)``, and the dataset (seeded from
``(seed, k)``, set to epoch ``e``) draws each item's crop and augmentation from its own
generator. A batch therefore depends only on the seed, the stream and its position, and a resumed
run continues the very same sequence from the stored positions.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from microseg.data.datasets import TrainingDataset
from microseg.train.step import Batch

_ORDER = 0  # tag that keeps the order generator apart from others drawn from the same seed


def stream_seed(seed: int, stream: int) -> int:
    """The dataset seed of stream ``stream`` in a run seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


class BatchStream:
    """Minibatches of ``batch_size`` items of ``dataset``, shuffled per epoch, never ending."""

    def __init__(self, dataset: TrainingDataset, batch_size: int, seed: int, stream: int):
        self.dataset = dataset
        self.n = len(dataset)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.stream = int(stream)
        self.position = 0
        self._epoch: int | None = None
        self._order: np.ndarray | None = None

    def locate(self, position: int) -> tuple[int, int]:
        """``(epoch, dataset index)`` of the item at stream ``position``."""
        epoch, offset = divmod(position, self.n)
        if epoch != self._epoch:
            rng = np.random.default_rng([self.seed, self.stream, _ORDER, epoch])
            self._order, self._epoch = rng.permutation(self.n), epoch
        assert self._order is not None
        return epoch, int(self._order[offset])

    def next(self) -> Batch:
        """The next minibatch (advances :attr:`position` by ``batch_size``)."""
        items = []
        for position in range(self.position, self.position + self.batch_size):
            epoch, index = self.locate(position)
            self.dataset.set_epoch(epoch)
            items.append(self.dataset[index])
        self.position += self.batch_size
        return collate(items)


def _stack(values: Sequence[Any]) -> Any:
    first = values[0]
    if isinstance(first, dict):
        return {key: _stack([v[key] for v in values]) for key in first}
    return torch.stack([torch.as_tensor(v) for v in values])


def collate(items: Sequence[tuple[Any, Any, Any]]) -> Batch:
    """Stack ``(image, target, weight)`` items into a :class:`Batch` (dicts stacked per key)."""
    images, targets, weights = zip(*items)
    return Batch(image=_stack(images).float(), target=_stack(targets), weight=_stack(weights))
