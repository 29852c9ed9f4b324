"""Segmentation metrics: CTC SEG / DET / TRA, object matching (precision, recall, F1, AP over IoU
thresholds), pixel IoU / Dice, DeepCell error types, ISBI 2012 V_rand / V_info, PESEG; the
``combine*`` functions pool per-image results into the scores of a data set, ``evaluate_*`` score
files and folders.

Every object metric starts from one :func:`~microseg.metrics.overlap.overlap_table` of the two
label images; the ``*_overlap`` variants in the submodules take that table so several metrics
share one pass over the pixels (:mod:`microseg.metrics.evaluate` does so).
"""
from microseg.metrics.brightness import recall_by_brightness
from microseg.metrics.ctc import combine_seg, peseg, seg_per_object, seg_score
from microseg.metrics.ctc_tracking import ctc_tracking_scores
from microseg.metrics.errors import combine_error_types, error_types
from microseg.metrics.evaluate import evaluate_arrays, evaluate_ctc, evaluate_folders, \
    evaluate_pair, evaluate_paths
from microseg.metrics.grouped import evaluate_by_field
from microseg.metrics.isbi import combine_rand_info, vrand_vinfo, vrand_vinfo_thinned
from microseg.metrics.matching import average_precision, combine, match
from microseg.metrics.pixel import binary_scores, pixel_iou

__all__ = [
    "average_precision",
    "binary_scores",
    "combine",
    "combine_error_types",
    "combine_rand_info",
    "combine_seg",
    "ctc_tracking_scores",
    "error_types",
    "evaluate_arrays",
    "evaluate_by_field",
    "evaluate_ctc",
    "evaluate_folders",
    "evaluate_pair",
    "evaluate_paths",
    "match",
    "peseg",
    "pixel_iou",
    "recall_by_brightness",
    "seg_per_object",
    "seg_score",
    "vrand_vinfo",
    "vrand_vinfo_thinned",
]
