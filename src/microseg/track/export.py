"""Write a tracking result: a CTC result folder (``maskTTT.tif`` relabelled by track id +
``res_track.txt``) and a CSV table with one row per object and frame."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from microseg.io.ctc import write_ctc_result
from microseg.measure import write_measurements_csv
from microseg.track.tracker import Tracking


def write_tracking(res_dir: str | Path, tracking: Tracking, labels: Sequence[np.ndarray], *,
                   progress: bool = False) -> Path:
    """Write ``tracking`` as a CTC result folder: ``labels[k]`` (the label images that were
    tracked) relabelled by track id as ``maskTTT.tif`` for every frame, then ``res_track.txt``
    (written last, so a folder without it is incomplete). Each file is written atomically."""
    from tqdm import tqdm

    masks = {int(frame): tracking.relabel(k, labels[k]) for k, frame in
             enumerate(tqdm(tracking.frames, desc="relabel", unit="frame",
                            disable=None if progress else True, leave=False))}
    return write_ctc_result(res_dir, masks, tracking.tracks)


def write_track_csv(path: str | Path, tracking: Tracking) -> Path:
    """Write :meth:`Tracking.table` (track id, frame, label, parent, centroid, features) as CSV.
    Atomic."""
    return write_measurements_csv(path, tracking.table())
