"""Write a tracking result: a CTC result folder (``maskTTT.tif`` relabelled by track id +
``res_track.txt``) and a CSV table with one row per object and frame."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.ctc import write_ctc_result
from microseg.measure import write_measurements_csv
from microseg.track.tracker import Tracking

#: Files of a CTC result folder, which a new result replaces.
RESULT_FILES = re.compile(r"^(mask\d+\.tif|res_track\.txt)$")


def result_files(res_dir: str | Path, overwrite: bool = True) -> list[Path]:
    """The result files (``maskTTT.tif``, ``res_track.txt``) already in ``res_dir``;
    :class:`InputError` when there are some and not ``overwrite``."""
    res_dir = Path(res_dir)
    found = sorted(p for p in res_dir.iterdir() if RESULT_FILES.match(p.name)) \
        if res_dir.is_dir() else []
    if found and not overwrite:
        raise InputError(found[0], "result exists (use --overwrite to replace it)")
    return found


def write_tracking(res_dir: str | Path, tracking: Tracking, labels: Sequence[np.ndarray], *,
                   progress: bool = False) -> Path:
    """Write ``tracking`` as a CTC result folder: ``labels[k]`` (the label images that were
    tracked) relabelled by track id as ``maskTTT.tif`` for every frame, then ``res_track.txt``
    (written last, so a folder without it is incomplete). A result already in ``res_dir`` is
    replaced: all its files are removed first. Each file is written atomically."""
    from tqdm import tqdm

    masks = {int(frame): tracking.relabel(k, labels[k]) for k, frame in
             enumerate(tqdm(tracking.frames, desc="relabel", unit="frame",
                            disable=None if progress else True, leave=False))}
    for path in result_files(res_dir):
        path.unlink()
    return write_ctc_result(res_dir, masks, tracking.tracks)


def write_track_csv(path: str | Path, tracking: Tracking) -> Path:
    """Write :meth:`Tracking.table` (track id, frame, label, parent, centroid, features) as CSV.
    Atomic."""
    return write_measurements_csv(path, tracking.table())
