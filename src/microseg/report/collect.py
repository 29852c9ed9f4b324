"""What a ``microseg segment`` output folder holds: its complete images and its run records."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from microseg.errors import InputError


@dataclass(frozen=True)
class ImageResult:
    """The outputs of one input (named ``stem``): label TIFF, overlay PNG, measurements CSV,
    and the input file they came from (as recorded)."""

    stem: str
    labels: Path
    overlay: Path
    table: Path
    source: str | None = None


@dataclass
class RunFolder:
    """A segment output folder: its complete images in natural order of their stems, and the
    run records (:func:`~microseg.pipelines.files.write_run_record`), oldest first."""

    folder: Path
    images: list[ImageResult]
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def model(self) -> str | None:
        """The model of the latest run (its name or path), None when no run is recorded."""
        return self.runs[-1].get("model") if self.runs else None


def read_run_folder(out_dir: str | Path) -> RunFolder:
    """The complete images (outputs present and recorded as complete) and run records of
    ``out_dir``; :class:`InputError` when the folder is missing or holds no complete image."""
    from microseg.io.folders import natural_key
    from microseg.io.units import read_record, unit_names
    from microseg.pipelines.files import output_unit, run_records_dir

    folder = Path(out_dir)
    if not folder.is_dir():
        raise InputError(folder, "output folder not found")
    images = []
    for stem in sorted(unit_names(folder), key=natural_key):
        unit = output_unit(folder, stem)
        record = unit.record()
        if record is not None and all(path.is_file() for path in unit.outputs):
            images.append(ImageResult(stem, *unit.outputs, source=record.get("input")))
    if not images:
        raise InputError(folder, "no segmented image here (make one with `microseg segment "
                                 "INPUT --out DIR`)")
    records = (read_record(path) for path in sorted(run_records_dir(folder).glob("*.json")))
    return RunFolder(folder, images, [record for record in records if record is not None])
