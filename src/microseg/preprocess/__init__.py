"""Preprocessing: normalisation, resizing to a model scale, CLAHE, Context Aware Pseudocoloring."""
from microseg.preprocess.normalize import normalize_minmax, normalize_percentile, to_grey

__all__ = ["normalize_minmax", "normalize_percentile", "to_grey"]
