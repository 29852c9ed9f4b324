"""CTC DET and TRA (AOGM-based detection and tracking accuracy, Matula et al. 2015) of a result
folder ``NN_RES`` against ``NN_GT``, computed by py-ctcmetrics (``import ctc_metrics``), the
challenge's reference implementation in Python (install with ``pip install microseg[eval]``).

DET = 1 − min(AOGM_D, AOGM_D0) / AOGM_D0 with AOGM_D = 5·NS + 10·FN + 1·FP over the TRA markers;
TRA adds edge errors (1·ED + 1.5·EA + 1·EC). Both need ``NN_GT/TRA`` (markers of every frame and
``man_track.txt``) and a result with one mask per frame and ``res_track.txt`` (py-ctcmetrics
checks that masks and track file agree before scoring).
"""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from microseg.errors import InputError, MicrosegError
from microseg.io.ctc import read_track_file

TRACKING_METRICS = ("det", "tra")


def ctc_tracking_scores(res_dir: str | Path, gt_dir: str | Path,
                        metrics: Sequence[str] = TRACKING_METRICS) -> dict[str, Any]:
    """DET and/or TRA of ``res_dir`` (``maskTTT.tif`` + ``res_track.txt``) against ``gt_dir``.

    Returns ``{"det": …, "tra": …}`` for the requested metrics plus the AOGM error counts
    (``aogm``, ``aogm_ns``, ``aogm_fn``, ``aogm_fp``, ``aogm_ed``, ``aogm_ea``, ``aogm_ec``) when
    TRA is requested. Raises :class:`InputError` when a needed file is missing or py-ctcmetrics
    rejects the result, and :class:`MicrosegError` when py-ctcmetrics is not installed.
    """
    wanted = [m.lower() for m in metrics]
    unknown = sorted(set(wanted) - set(TRACKING_METRICS))
    if unknown or not wanted:
        raise InputError(None, f"tracking metrics must be among {TRACKING_METRICS}, got {metrics}")
    res_dir, gt_dir = Path(res_dir), Path(gt_dir)
    _check_layout(res_dir, gt_dir)
    try:
        from ctc_metrics import evaluate_sequence
    except ImportError:
        raise MicrosegError("CTC DET/TRA need py-ctcmetrics: "
                            "pip install 'microseg[eval]'") from None

    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            results = evaluate_sequence(str(res_dir), str(gt_dir),
                                        metrics=[m.upper() for m in wanted], threads=1)
    except (AssertionError, ValueError, IndexError, KeyError, TypeError) as exc:
        raise InputError(res_dir, f"py-ctcmetrics cannot evaluate this result against {gt_dir} "
                                  f"({type(exc).__name__}: {exc})") from None
    if results.get("Valid") == 0 or any(results.get(m.upper()) is None for m in wanted):
        raise InputError(res_dir, "not a valid CTC result (py-ctcmetrics validity check failed: "
                                  "masks and res_track.txt disagree)" + _warned(caught))
    out: dict[str, Any] = {m: float(results[m.upper()]) for m in wanted}
    if "tra" in wanted:
        out["aogm"] = float(results["AOGM"])
        for key in ("NS", "FN", "FP", "ED", "EA", "EC"):
            out[f"aogm_{key.lower()}"] = int(results[f"AOGM_{key}"])
    return out


def _warned(caught: list[warnings.WarningMessage], shown: int = 2) -> str:
    """``": first; second (and N more)"`` of the distinct warnings in ``caught``; ``""`` when
    there are none."""
    found = list(dict.fromkeys(str(w.message).rstrip(".") for w in caught))
    if not found:
        return ""
    more = f" (and {len(found) - shown} more)" if len(found) > shown else ""
    return ": " + "; ".join(found[:shown]) + more


def _check_layout(res_dir: Path, gt_dir: Path) -> None:
    if not res_dir.is_dir():
        raise InputError(res_dir, "result folder not found")
    if not any(res_dir.glob("mask*.tif")):
        raise InputError(res_dir, "no maskTTT.tif files in result folder")
    tra = gt_dir / "TRA"
    if not tra.is_dir() or not any(tra.glob("man_track*.tif")):
        raise InputError(tra, "DET/TRA need the TRA marker images man_trackTTT.tif")
    if not (tra / "man_track.txt").is_file():
        raise InputError(tra / "man_track.txt", "track file not found")
    n_markers = len(list(tra.glob("man_track*.tif")))
    n_masks = len(list(res_dir.glob("mask*.tif")))
    if n_markers != n_masks:
        raise InputError(res_dir, f"{n_masks} result masks but {n_markers} TRA frames in {tra}; "
                                  f"DET/TRA need one mask per frame")
    if not (res_dir / "res_track.txt").is_file():
        raise InputError(res_dir / "res_track.txt", "DET/TRA need the result track file")
    read_track_file(tra / "man_track.txt")
    tracks = read_track_file(res_dir / "res_track.txt")
    if not len(tracks):
        raise InputError(res_dir / "res_track.txt", "lists no tracks: a result without objects "
                                                    "has nothing to score (DET and TRA are 0)")
    _check_frames(tracks, n_masks, res_dir / "res_track.txt")


def _check_frames(tracks: np.ndarray, n_frames: int, path: Path) -> None:
    """Every track ``L B E P`` of ``tracks`` ends within the ``n_frames`` frames 0 … n − 1."""
    late = tracks[tracks[:, 2] >= n_frames, 0]
    if late.size:
        raise InputError(path, f"tracks {late[:10].tolist()} end after the last frame "
                               f"{n_frames - 1}")
