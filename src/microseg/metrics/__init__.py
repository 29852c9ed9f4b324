"""Segmentation metrics: CTC SEG / DET / TRA, object matching (precision, recall, F1, AP over IoU
thresholds), pixel IoU / Dice, DeepCell error types, ISBI 2012 V_rand / V_info, PESEG.

Every object metric starts from one :func:`overlap_table` of the two label images; the
``*_overlap`` variants take that table so several metrics share one pass over the pixels.
"""
from microseg.metrics.brightness import BrightnessRecall, recall_by_brightness
from microseg.metrics.ctc import SegScores, combine_seg, peseg, seg_overlap, seg_per_object, \
    seg_score
from microseg.metrics.ctc_tracking import ctc_tracking_scores
from microseg.metrics.errors import ErrorTypes, combine_error_types, error_types, \
    error_types_overlap
from microseg.metrics.evaluate import EvaluationReport, evaluate_arrays, evaluate_ctc, \
    evaluate_folders, evaluate_pair, evaluate_paths, parse_metrics
from microseg.metrics.isbi import RandInfo, ThinnedScores, combine_rand_info, \
    thinned_segmentation, vrand_vinfo, vrand_vinfo_overlap, vrand_vinfo_thinned
from microseg.metrics.matching import Matching, ThresholdSweep, average_precision, combine, \
    combine_sweeps, match, match_overlap, sweep_overlap
from microseg.metrics.overlap import Overlap, check_pair, overlap_table
from microseg.metrics.pixel import BinaryScores, ClassIoU, binary_scores, binary_scores_overlap, \
    confusion_matrix, pixel_iou

__all__ = [
    "BinaryScores",
    "BrightnessRecall",
    "ClassIoU",
    "ErrorTypes",
    "EvaluationReport",
    "Matching",
    "Overlap",
    "RandInfo",
    "SegScores",
    "ThinnedScores",
    "ThresholdSweep",
    "average_precision",
    "binary_scores",
    "binary_scores_overlap",
    "check_pair",
    "combine",
    "combine_error_types",
    "combine_rand_info",
    "combine_seg",
    "combine_sweeps",
    "confusion_matrix",
    "ctc_tracking_scores",
    "error_types",
    "error_types_overlap",
    "evaluate_arrays",
    "evaluate_ctc",
    "evaluate_folders",
    "evaluate_pair",
    "evaluate_paths",
    "match",
    "match_overlap",
    "overlap_table",
    "parse_metrics",
    "peseg",
    "pixel_iou",
    "recall_by_brightness",
    "seg_overlap",
    "seg_per_object",
    "seg_score",
    "sweep_overlap",
    "thinned_segmentation",
    "vrand_vinfo",
    "vrand_vinfo_overlap",
    "vrand_vinfo_thinned",
]
