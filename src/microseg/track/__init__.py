"""Cell tracking: link the objects of a time-lapse frame to frame, find divisions, write the
Cell Tracking Challenge result (``maskTTT.tif`` + ``res_track.txt``) and a CSV table.

    from microseg.track import TrackConfig, track, write_tracking
    result = track(labels, images, TrackConfig(max_distance=40, gap_closing=True))
    write_tracking("01_RES", result, labels)

Modules: ``features`` (per-object vectors), ``linking`` (gated costs, optimal links),
``assignment`` (the sparse assignment solver), ``divisions``, ``tracker`` (the loop over
frames), ``frames`` (reading folders / stacks), ``export`` and ``run``; the CTC track rules are
:mod:`microseg.io.ctc_lineage`.
"""
from microseg.track.config import TrackConfig
from microseg.track.divisions import Divisions, division_costs, find_divisions
from microseg.track.export import write_track_csv, write_tracking
from microseg.track.features import ObjectFeatures, object_features
from microseg.track.frames import FrameSequence, open_sequence
from microseg.io.ctc_lineage import clip_tracks, ctc_lineage, track_table
from microseg.track.linking import Links, link_frames
from microseg.track.run import track_files
from microseg.track.tracker import Tracking, track

__all__ = ["Divisions", "FrameSequence", "Links", "ObjectFeatures", "TrackConfig", "Tracking",
           "clip_tracks", "ctc_lineage", "division_costs", "find_divisions", "link_frames",
           "object_features", "open_sequence", "track", "track_files", "track_table",
           "write_track_csv", "write_tracking"]
