"""Making training data as the protoplast study did (Munteanu 2024, 002_b48028eca5347a5f.txt):
per-plane annotations merged into one mask per cell state (:mod:`~microseg.annotate.planes`).
File-name metadata and splits grouped by it are :func:`microseg.data.splits.
parse_filename_metadata` and :func:`~microseg.data.splits.split_by_fields`, scores per focal
plane :func:`microseg.metrics.evaluate_by_field`.
"""
from microseg.annotate.planes import PROTOPLAST_STATE, merge_focal_planes, merge_states

__all__ = ["PROTOPLAST_STATE", "merge_focal_planes", "merge_states"]
