"""Scores per value of a file-name field, e.g. per focal plane ``z`` as the protoplast study
reports them (002_b48028eca5347a5f.txt, tables 1 and 2: accuracy, F1 and IoU per z-level).

>>> import numpy as np
>>> cell = np.array([[1, 1, 0], [0, 0, 0]])
>>> scores = evaluate_by_field([("day1t1c1xy3z12", cell, cell), ("day1t1c1xy3z14", cell,
...                             np.zeros_like(cell))], field="z", metrics="f1,iou")
>>> [(z, report.overall["f1"]) for z, report in scores.items()]
[('12', 1.0), ('14', 0.0), ('all', 0.6666666666666666)]
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from microseg.data.splits import PROTOPLAST_PATTERN, parse_filename_metadata
from microseg.metrics.evaluate import EvaluationReport, evaluate_arrays

#: Key of the scores over every image in :func:`evaluate_by_field`'s result.
ALL = "all"


def evaluate_by_field(pairs: Iterable[tuple[str, np.ndarray, np.ndarray]], field: str = "z",
                      pattern: str = PROTOPLAST_PATTERN,
                      metrics: str | Sequence[str] | None = None, *,
                      iou: float = 0.5) -> dict[str, EvaluationReport]:
    """Score ``(name, gt, pred)`` label images per value of the file-name ``field`` of their
    names (read with ``pattern``, :func:`~microseg.data.splits.parse_filename_metadata`) →
    value → :class:`~microseg.metrics.evaluate.EvaluationReport`, values in natural order, then
    :data:`ALL` for every image together. ``metrics`` as ``microseg evaluate --metrics``; the
    paper's accuracy, F1 and IoU of the foreground are ``pixel_accuracy``, ``dice`` and
    ``pixel_iou`` of ``iou``, object F1 is ``f1``. A name the pattern does not fit raises
    :class:`~microseg.errors.InputError` naming it; a field the pattern lacks,
    :class:`~microseg.errors.ConfigError`."""
    from microseg.errors import ConfigError
    from microseg.io.folders import natural_key

    pairs = list(pairs)
    groups: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for name, gt, pred in pairs:
        fields = parse_filename_metadata(name, pattern)
        if field not in fields:
            raise ConfigError(f"field {field!r} is not among the fields {sorted(fields)} of "
                              f"pattern {pattern!r}")
        groups.setdefault(fields[field], []).append((name, gt, pred))
    reports = {value: evaluate_arrays(groups[value], metrics, iou=iou)
               for value in sorted(groups, key=natural_key)}
    reports[ALL] = evaluate_arrays(pairs, metrics, iou=iou)
    return reports
