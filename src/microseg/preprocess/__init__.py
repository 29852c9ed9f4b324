"""Preprocessing: normalisation, resizing to a model scale, CLAHE, Context Aware Pseudocoloring."""
from microseg.preprocess.channels import to_channels
from microseg.preprocess.normalize import intensity_range, normalize_minmax, normalize_percentile, \
    to_grey

__all__ = ["intensity_range", "normalize_minmax", "normalize_percentile", "to_channels", "to_grey"]
