"""Track segmentations stored as files and write the CTC result: what ``microseg track`` runs."""
from __future__ import annotations

from pathlib import Path

from microseg.track.config import TrackConfig
from microseg.track.export import result_files, write_track_csv, write_tracking
from microseg.track.frames import check_pair, open_sequence
from microseg.track.tracker import Tracking, track

CSV_NAME = "tracks.csv"


def track_files(labels: str | Path, images: str | Path | None, res_dir: str | Path,
                config: TrackConfig | None = None, *, csv: str | Path | None = None,
                overwrite: bool = False, progress: bool = False) -> Tracking:
    """Track the label images of ``labels`` (a folder with one file per frame, e.g. CTC
    ``maskTTT.tif``, or a ``(T, Y, X)`` / ``(T, Z, Y, X)`` stack; see
    :mod:`microseg.track.frames`) with the raw frames of ``images`` (same layout, or ``None``),
    and write ``res_dir/maskTTT.tif`` + ``res_track.txt`` and the CSV table (``csv``, default
    ``res_dir/tracks.csv``). A result already in ``res_dir`` is an :class:`InputError` before
    any work unless ``overwrite`` (then it is replaced, its stale masks removed). Returns the
    :class:`Tracking`."""
    result_files(res_dir, overwrite)
    label_frames = open_sequence(labels, labels=True)
    image_frames = None
    if images is not None:
        image_frames = open_sequence(images)
        check_pair(label_frames, image_frames)
    result = track(label_frames, image_frames, config, first_frame=label_frames.frames[0],
                   progress=progress)
    write_tracking(res_dir, result, label_frames, progress=progress)
    write_track_csv(Path(res_dir) / CSV_NAME if csv is None else csv, result)
    return result
