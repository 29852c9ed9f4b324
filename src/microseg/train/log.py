"""The per-run CSV log: one line per logged iteration, validation scores on validation lines."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from microseg.errors import InputError
from microseg.io.atomic import atomic_path


class CsvLog:
    """Append-only CSV with a fixed header; each row is written and flushed as one line.

    On resume (``resume_at`` given) rows after that iteration — written after the checkpoint
    being resumed — are dropped first, so the log matches the resumed state.
    """

    def __init__(self, path: str | Path, columns: Sequence[str], resume_at: int | None = None):
        self.path = Path(path)
        self.columns = ["iteration", *[c for c in columns if c != "iteration"]]
        if resume_at is not None and self.path.is_file():
            self._truncate(resume_at)
        else:
            with atomic_path(self.path) as tmp:
                tmp.write_text(self._line(dict(zip(self.columns, self.columns))))

    def write(self, row: Mapping[str, Any]) -> None:
        unknown = sorted(set(row) - set(self.columns))
        if unknown:
            raise KeyError(f"log columns {unknown} are not in the header")
        with self.path.open("a", newline="") as handle:
            handle.write(self._line(row))
            handle.flush()

    def rows(self) -> list[dict[str, str]]:
        with self.path.open(newline="") as handle:
            return list(csv.DictReader(handle))

    def _line(self, row: Mapping[str, Any]) -> str:
        buffer = io.StringIO()
        values = [_format(row.get(c)) for c in self.columns]
        csv.writer(buffer, lineterminator="\n").writerow(values)
        return buffer.getvalue()

    def _truncate(self, resume_at: int) -> None:
        with self.path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header != self.columns:
                raise InputError(self.path,
                                 f"log header {header} differs from this run's {self.columns}")
            kept = [r for r in reader if r and int(r[0]) <= resume_at]
        with atomic_path(self.path) as tmp:
            with tmp.open("w", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(self.columns)
                writer.writerows(kept)


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)
