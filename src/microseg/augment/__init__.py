"""Training augmentation, image and labels always together: crops with reflection padding,
flips, 90° rotations, elastic deformation, zoom, acquisition (another microscope), intensity.

>>> import numpy as np
>>> from microseg.augment import AugmentConfig, Augmenter
>>> augmenter = Augmenter(AugmentConfig(crop=256, pad=8))
>>> image, labels = augmenter(image, labels, np.random.default_rng(0))  # doctest: +SKIP
"""
from microseg.augment.acquisition import augment_acquisition
from microseg.augment.augmenter import Augmenter
from microseg.augment.config import (
    AcquisitionConfig,
    AugmentConfig,
    ElasticConfig,
    IntensityConfig,
    ZoomConfig,
)
from microseg.augment.elastic import elastic_displacement

__all__ = ["AcquisitionConfig", "AugmentConfig", "Augmenter", "ElasticConfig", "IntensityConfig",
           "ZoomConfig", "augment_acquisition", "elastic_displacement"]
