"""The :class:`Augmenter`: one random draw of every configured transform applied to an image and
its labels together."""
from __future__ import annotations

import numpy as np

from microseg.augment.acquisition import augment_acquisition
from microseg.augment.config import AugmentConfig
from microseg.augment.elastic import elastic_displacement
from microseg.augment.geometry import crop_shape, extract, reflect_pad, resample, sampling_grid
from microseg.augment.intensity import augment_intensity
from microseg.errors import InputError


class Augmenter:
    """Random training augmentation, reproducible from the generator passed in.

    ``augmenter(image, labels, rng)`` takes an image ``(C, Y, X)`` / ``(C, Z, Y, X)`` and its
    labels ``(Y, X)`` / ``(Z, Y, X)`` and returns both transformed the same way (labels by
    nearest neighbour, so they only ever hold ids of the input): the image as float32, the labels
    in their own dtype. Training targets are computed from the returned labels.

    >>> augmenter = Augmenter(AugmentConfig(crop=64, pad=8))
    >>> image, labels = augmenter(np.zeros((1, 100, 80), np.float32),
    ...                           np.zeros((100, 80), np.uint16), np.random.default_rng(0))
    >>> image.shape, labels.shape
    ((1, 80, 80), (80, 80))
    """

    def __init__(self, config: AugmentConfig | None = None):
        self.config = config if config is not None else AugmentConfig()

    def __call__(self, image: np.ndarray, labels: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        image, labels = _check(image, labels, rng)
        image, labels = self._resize(image, labels, rng)
        config = self.config
        image, labels = reflect_pad(image, config.pad), reflect_pad(labels, config.pad)
        flip_axes = [-1, -2] if config.flip else []
        if config.flip_z and labels.ndim == 3:
            flip_axes.append(-3)
        for axis in flip_axes:
            if rng.random() < 0.5:
                image, labels = np.flip(image, axis), np.flip(labels, axis)
        if config.rot90:
            k = rng.integers(4) if labels.shape[-1] == labels.shape[-2] else 2 * rng.integers(2)
            image, labels = np.rot90(image, k, (-2, -1)), np.rot90(labels, k, (-2, -1))
        if config.acquisition.p > 0 and rng.random() < config.acquisition.p:
            image = augment_acquisition(image, config.acquisition, rng)
        if config.intensity.p > 0 and rng.random() < config.intensity.p:
            image = augment_intensity(image, config.intensity, rng)
        return (np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(labels))

    def _resize(self, image: np.ndarray, labels: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Crop, zoom and elastic deformation in one step: slicing when there is neither zoom nor
        deformation, otherwise one resampling of the input."""
        config = self.config
        shape = crop_shape(config.crop, labels.shape)
        scale = [1.0] * labels.ndim
        if config.zoom.p > 0 and rng.random() < config.zoom.p:
            scale[-2:] = [np.exp(rng.uniform(*np.log(config.zoom.scale)))] * 2
        displacement = None
        if config.elastic.p > 0 and rng.random() < config.elastic.p:
            displacement = elastic_displacement(shape[-2:], config.elastic.alpha,
                                                config.elastic.sigma, rng)
        # window in input pixels; where it is larger than the image it is placed at random and
        # the rest is reflection
        extent = [size / factor for size, factor in zip(shape, scale)]
        slack = [length - span for length, span in zip(labels.shape, extent)]
        if displacement is None and all(factor == 1.0 for factor in scale):
            start = tuple(int(rng.integers(min(0, s), max(0, s), endpoint=True))
                          for s in np.round(slack).astype(int))
            return extract(image, start, shape), extract(labels, start, shape)
        start = tuple(rng.uniform(min(0.0, s), max(0.0, s)) for s in slack)
        grid = sampling_grid(start, shape, tuple(scale), displacement)
        return resample(image, grid, config.image_order), resample(labels, grid, 0)


def _check(image: np.ndarray, labels: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Validate the pair; the image becomes float32."""
    if not isinstance(rng, np.random.Generator):
        raise InputError(None, f"augmentation needs a numpy.random.Generator, got "
                               f"{type(rng).__name__}")
    image, labels = np.asarray(image), np.asarray(labels)
    if labels.ndim not in (2, 3):
        raise InputError(None, f"labels must be (Y, X) or (Z, Y, X), got shape {labels.shape}")
    if image.ndim != labels.ndim + 1 or image.shape[1:] != labels.shape:
        raise InputError(None, f"image {image.shape} must be (C, *spatial) with spatial shape "
                               f"equal to the labels {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise InputError(None, f"labels must be integers, got dtype {labels.dtype}")
    return image.astype(np.float32, copy=False), labels
