"""Segment and track a Cell Tracking Challenge sequence in one go: what ``microseg ctc`` runs.

>>> from microseg.pipelines.ctc import segment_and_track
>>> result = segment_and_track("Fluo-N2DH-GOWT1/01", "runs/gowt1/best.pt",
...                            "Fluo-N2DH-GOWT1/01_RES")                 # doctest: +SKIP

Every frame ``tTTT.tif`` of the sequence folder is segmented with
:func:`microseg.pipelines.cells.segment` (a model with ``sequence`` normalisation gets the
intensity range of the whole sequence, as :func:`~microseg.pipelines.files.segment_paths` gives
it) into a scratch folder inside the result folder, ``.microseg/segmentation/``, one label file
per frame, so long or 3D+t sequences never sit in memory whole. The frames are then tracked by :func:`microseg.track.track_files`, which writes
``maskTTT.tif`` relabelled by track id, ``res_track.txt`` (last, so a result folder without it is
incomplete) and ``tracks.csv``; every file is written atomically and the scratch folder is
removed at the end. A run killed before then leaves the scratch folder, with a record of the
sequence and settings it was made with: a rerun with the same ones (and no ``overwrite``) keeps
its frames, segments the others and finishes the result. The scratch folder is claimed by one
process at a time (:func:`microseg.io.units.claim`).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from microseg.errors import InputError, MicrosegError

if TYPE_CHECKING:
    from microseg.infer.predictor import Predictor
    from microseg.io.ctc import CTCSequence
    from microseg.pipelines.files import SegmentOptions
    from microseg.track import TrackConfig, Tracking

SCRATCH = "segmentation"
#: The scratch folder's record of what its frames were made from.
RECORD = "source.json"


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
            (:func:`microseg.pipelines.model.load_model`, which gets ``predictor_options``: ``tta``,
            ``tile``, ``backend``, ``threads``, …).
        out_dir: result folder; existing ``maskTTT.tif`` / ``res_track.txt`` there are an
            :class:`InputError` unless ``overwrite`` (then they are replaced, and stale masks of
            frames this sequence does not have are removed) or they were left by a killed run
            of the same sequence and settings, which is then finished (see the module
            docstring; only for a model given by name or path).
        track_config: linking, division and gap-closing settings (default :class:`TrackConfig`).
        options: per-frame segmentation settings (:class:`~microseg.pipelines.files.SegmentOptions`).
        csv: path of the track table (default ``out_dir/tracks.csv``).
    Returns:
        The :class:`~microseg.track.Tracking` that was written.
    """
    from microseg.io.ctc import CTCSequence
    from microseg.io.units import BOOKKEEPING, Skipped, claim, read_record
    from microseg.pipelines.files import SegmentOptions, check_options
    from microseg.pipelines.model import load_model
    from microseg.track import track_files
    from microseg.track.export import result_files

    seq = CTCSequence(seq_dir)
    frames = seq.frames
    if frames != list(range(frames[0], frames[0] + len(frames))):
        missing = sorted(set(range(frames[0], frames[-1] + 1)) - set(frames))
        raise InputError(seq.path, f"frame numbers must be consecutive; missing frame(s) "
                                   f"{missing}")
    out_dir = Path(out_dir)
    options = options or SegmentOptions()
    scratch = out_dir / BOOKKEEPING / SCRATCH
    record = _scratch_record(seq, model, options, predictor_options)
    created = not out_dir.exists()
    try:
        with claim(scratch.with_suffix(".lock")):
            if overwrite or record is None or read_record(scratch / RECORD) != record:
                result_files(out_dir, overwrite)
                shutil.rmtree(scratch, ignore_errors=True)
            try:
                predictor = load_model(model, **predictor_options)
                _segment_frames(seq, predictor, check_options(predictor, options), scratch,
                                record, progress)
                result = track_files(scratch, seq.path, out_dir, track_config, csv=csv,
                                     overwrite=True, progress=progress)
            except MicrosegError:                 # bad input or settings: nothing to resume
                shutil.rmtree(scratch, ignore_errors=True)
                raise
            shutil.rmtree(scratch)
            return result
    except Skipped as exc:
        raise InputError(out_dir, str(exc)) from None
    finally:
        _remove_empty(out_dir, created)


def _scratch_record(seq: "CTCSequence", model: Any, options: "SegmentOptions",
                    predictor_options: dict[str, Any]) -> dict[str, Any] | None:
    """What the scratch frames depend on: the sequence and
    :func:`~microseg.pipelines.files.settings_record` (model and settings); None when the model is
    given as an object, which no record can tell from another."""
    from microseg.pipelines.files import settings_record

    settings = settings_record(model, options, predictor_options)
    if settings is None:
        return None
    return {"sequence": str(seq.path.resolve()), "frames": [seq.frames[0], seq.frames[-1]],
            **settings}


def _segment_frames(seq: "CTCSequence", predictor: "Predictor", options: "SegmentOptions",
                    scratch: Path, record: dict[str, Any] | None, progress: bool) -> None:
    """Segment into ``scratch`` the frames of ``seq`` it does not hold yet (``mask{t}.tif``);
    ``record`` (:func:`_scratch_record`) is written first, when there is one."""
    from tqdm import tqdm

    from microseg.io.atomic import partial_files
    from microseg.io.ctc import index_width
    from microseg.io.images import write_labels
    from microseg.io.units import write_record
    from microseg.pipelines.files import read_input, segment_input, sequence_range

    scratch.mkdir(parents=True, exist_ok=True)
    if record is not None:
        write_record(scratch / RECORD, record)
    width = index_width(seq.frames[-1])
    paths = {t: scratch / f"mask{t:0{width}d}.tif" for t in seq.frames}
    todo = [t for t, path in paths.items() if not path.exists()]
    span = sequence_range(seq.path) if todo and predictor.normalization.method == "sequence" \
        else None
    for t in tqdm(todo, desc="segment", unit="frame", disable=not progress):
        for part in partial_files(paths[t]):
            part.unlink()
        path = seq.frame_path(t)
        image, frame_options = read_input(path, options)
        write_labels(paths[t], segment_input(path, image, predictor, frame_options, span))


def _remove_empty(out_dir: Path, created: bool) -> None:
    """Remove the bookkeeping folder of ``out_dir`` when empty, and ``out_dir`` itself when this
    run ``created`` it and left it empty."""
    from microseg.io.units import BOOKKEEPING

    for folder, remove in ((out_dir / BOOKKEEPING, True), (out_dir, created)):
        if remove and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
