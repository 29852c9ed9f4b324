"""Annotation: objects from prompts, brush fixes, and the protoplast study's data workflow
(Munteanu 2024, 002_b48028eca5347a5f.txt).

- :mod:`~microseg.annotate.prompts`: points and boxes → objects with a microseg model
  (:class:`PromptAnnotator`) or with Segment Anything and weights the user gives
  (:class:`SamAnnotator`);
- :mod:`~microseg.annotate.edit`: paint, erase, commit an object;
- :mod:`~microseg.annotate.planes`: per-plane annotations merged into one mask per cell state.

File-name metadata and splits grouped by it are :func:`microseg.data.splits.
parse_filename_metadata` and :func:`~microseg.data.splits.split_by_fields`, scores per focal
plane :func:`microseg.metrics.evaluate_by_field`.
"""
from microseg.annotate.edit import add_object, erase, paint, stroke_mask
from microseg.annotate.planes import PROTOPLAST_STATE, merge_focal_planes, merge_states
from microseg.annotate.prompts import PromptAnnotator, Prompter, SamAnnotator

__all__ = ["PROTOPLAST_STATE", "PromptAnnotator", "Prompter", "SamAnnotator", "add_object",
           "erase", "merge_focal_planes", "merge_states", "paint", "stroke_mask"]
