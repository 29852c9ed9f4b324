"""Datasets that pair images with labels: the public entry point of :mod:`microseg.data`.

>>> from microseg.config import from_dict
>>> from microseg.data.datasets import DataConfig, load_samples, TrainingDataset
>>> config = from_dict(DataConfig, {"sources": [{"kind": "folder", "images": "imgs",
...                                              "labels": "masks"}]})   # doctest: +SKIP
>>> samples = load_samples(config, "all")                                  # doctest: +SKIP

The pieces live in small modules: :mod:`~microseg.data.sample` (``Sample``),
:mod:`~microseg.data.config` (``SourceConfig``, ``DataConfig``), :mod:`~microseg.data.sources`
(reading folder / CTC / COCO / ISBI sources), :mod:`~microseg.data.splits`,
:mod:`~microseg.data.sparse` (ignore masks for sparse ground truth),
:mod:`~microseg.data.rescale` and :mod:`~microseg.data.torch_dataset` (``TrainingDataset``).
"""
from microseg.data.config import ALL, DataConfig, SourceConfig
from microseg.data.rescale import diameter_range, median_diameter, rescale_sample, \
    scale_to_diameter
from microseg.data.sample import Sample, summarize
from microseg.data.sources import load_samples, load_source, source_name
from microseg.data.sparse import unannotated_mask
from microseg.data.splits import (
    PROTOPLAST_PATTERN,
    SplitConfig,
    group_of,
    group_split,
    parse_filename_metadata,
    random_split,
    range_split,
)
from microseg.data.torch_dataset import (
    IGNORE_INDEX,
    TrainingDataset,
    augment_with_ignore,
    target_and_weight,
)

__all__ = [
    "ALL", "DataConfig", "IGNORE_INDEX", "PROTOPLAST_PATTERN", "Sample", "SourceConfig",
    "SplitConfig", "TrainingDataset", "augment_with_ignore", "diameter_range", "group_of",
    "group_split", "load_samples", "load_source", "median_diameter", "parse_filename_metadata", "random_split",
    "range_split", "rescale_sample", "scale_to_diameter", "source_name", "summarize",
    "target_and_weight", "unannotated_mask",
]
