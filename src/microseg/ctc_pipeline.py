"""Segment and track a Cell Tracking Challenge sequence in one go: what ``microseg ctc`` runs.

>>> from microseg.ctc_pipeline import segment_and_track
>>> result = segment_and_track("Fluo-N2DH-GOWT1/01", "runs/gowt1/best.pt",
...                            "Fluo-N2DH-GOWT1/01_RES")                 # doctest: +SKIP

Every frame ``tTTT.tif`` of the sequence folder is segmented with :func:`microseg.segment.segment`
(a model with ``sequence`` normalisation gets the intensity range of the whole sequence, as
:func:`~microseg.segment.segment_paths` gives it) into a scratch folder inside the result folder,
one label file per frame, so long or 3D+t sequences never sit in memory whole. The frames are
then tracked by :func:`microseg.track.track_files`, which writes ``maskTTT.tif`` relabelled by
track id, ``res_track.txt`` (last, so a result folder without it is incomplete) and
``tracks.csv``; every file is written atomically and the scratch folder is removed.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from microseg.errors import InputError, warnings_naming

if TYPE_CHECKING:
    from microseg.segment import SegmentOptions
    from microseg.track import TrackConfig, Tracking

#: Files of a CTC result folder that a new result replaces.
RESULT_FILES = re.compile(r"^(mask\d+\.tif|res_track\.txt)$")


def _existing_results(out_dir: Path) -> list[Path]:
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.iterdir() if RESULT_FILES.match(p.name))


def segment_and_track(seq_dir: str | Path, model: Any, out_dir: str | Path, *,
                      track_config: "TrackConfig | None" = None,
                      options: "SegmentOptions | None" = None, overwrite: bool = False,
                      csv: str | Path | None = None, progress: bool = True,
                      **predictor_options: Any) -> "Tracking":
    """Segment every frame of the CTC sequence ``seq_dir`` (folder ``NN`` with ``tTTT.tif``)
    with ``model`` and track the cells into the result folder ``out_dir`` (``NN_RES``).

    Args:
        seq_dir: the sequence folder; its frame numbers must be consecutive.
        model: checkpoint / ONNX path, Predictor, module or bundled name
            (:func:`microseg.segment.load_model`, which gets ``predictor_options``: ``tta``,
            ``tile``, ``backend``, ``threads``, …).
        out_dir: result folder; existing ``maskTTT.tif`` / ``res_track.txt`` there are an
            :class:`InputError` unless ``overwrite`` (then they are replaced, and stale masks of
            frames this sequence does not have are removed).
        track_config: linking, division and gap-closing settings (default :class:`TrackConfig`).
        options: per-frame segmentation settings (:class:`~microseg.segment.SegmentOptions`).
        csv: path of the track table (default ``out_dir/tracks.csv``).
    Returns:
        The :class:`~microseg.track.Tracking` that was written.
    """
    from tqdm import tqdm

    from microseg.io.ctc import CTCSequence, index_width
    from microseg.io.images import write_labels
    from microseg.segment import SegmentOptions, check_options, load_model, segment, \
        sequence_range
    from microseg.track import track_files

    seq = CTCSequence(seq_dir)
    frames = seq.frames
    if frames != list(range(frames[0], frames[0] + len(frames))):
        missing = sorted(set(range(frames[0], frames[-1] + 1)) - set(frames))
        raise InputError(seq.path, f"frame numbers must be consecutive; missing frame(s) "
                                   f"{missing}")
    out_dir = Path(out_dir)
    stale = _existing_results(out_dir)
    if stale and not overwrite:
        raise InputError(stale[0], "result exists (use --overwrite to replace it)")
    predictor = load_model(model, **predictor_options)
    options = check_options(predictor, options or SegmentOptions())
    span = sequence_range(seq.path) if predictor.normalization.method == "sequence" else None
    width = index_width(frames[-1])
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=".segmentation-", dir=out_dir) as scratch:
            for t in tqdm(frames, desc="segment", unit="frame", disable=not progress):
                try:
                    with warnings_naming(seq.frame_path(t)):
                        labels = segment(seq.image(t), predictor, intensity_range=span,
                                         **options.kwargs())
                except InputError as exc:
                    raise InputError(seq.frame_path(t), exc.reason) from None
                write_labels(Path(scratch) / f"mask{t:0{width}d}.tif", labels)
            for path in _existing_results(out_dir):
                path.unlink()
            return track_files(scratch, seq.path, out_dir, track_config, csv=csv,
                               progress=progress)
    except BaseException:
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()                  # leave nothing behind for a run that failed
        raise
