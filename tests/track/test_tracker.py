"""The tracker end to end on synthetic movies whose ids are shuffled in every frame."""
import numpy as np
import pytest

from microseg.data.synthetic import generate
from microseg.errors import InputError
from microseg.track import TrackConfig, track


def to_truth(result, shuffled, truth_labels):
    """Our track table in ground-truth ids: every track must cover exactly one true cell."""
    pairs = set()
    for k, labels in enumerate(shuffled):
        ours = result.relabel(k, labels)
        fg = ours > 0
        pairs |= set(zip(ours[fg].tolist(), truth_labels[k][fg].tolist()))
    mapping = dict(pairs)
    assert len(mapping) == len(pairs) == len(set(mapping.values()))  # one-to-one
    lut = np.zeros(max(mapping) + 1, np.int64)
    lut[list(mapping)] = list(mapping.values())
    tracks = result.tracks.copy()
    tracks[:, 0] = lut[tracks[:, 0]]
    tracks[:, 3] = np.where(tracks[:, 3] > 0, lut[tracks[:, 3]], 0)
    return tracks[np.argsort(tracks[:, 0])]


def test_recovers_the_true_lineage(movie, shuffle_ids):
    shuffled = shuffle_ids(movie.labels, np.random.default_rng(0))
    result = track(shuffled, movie.images)
    assert to_truth(result, shuffled, movie.labels).tolist() == movie.tracks.tolist()
    assert result.n_divisions == np.count_nonzero(movie.tracks[:, 3]) // 2


def test_without_divisions_the_mother_continues_as_one_daughter(movie, shuffle_ids):
    shuffled = shuffle_ids(movie.labels, np.random.default_rng(1))
    result = track(shuffled, movie.images, TrackConfig(divisions=False))
    n_divisions = np.count_nonzero(movie.tracks[:, 3]) // 2
    assert result.n_divisions == 0 and np.all(result.tracks[:, 3] == 0)
    assert result.n_tracks == len(movie.tracks) - n_divisions


def test_tracks_3d_stacks_like_their_2d_frames(movie, shuffle_ids):
    shuffled = shuffle_ids(movie.labels, np.random.default_rng(2))
    stacked = [np.stack([f, f, f]) for f in shuffled]
    images = [np.stack([im, im, im]) for im in movie.images]
    flat = track(shuffled, movie.images)
    deep = track(stacked, images, TrackConfig(spacing=(2.0, 1.0, 1.0)))
    assert deep.tracks.tolist() == flat.tracks.tolist()
    assert deep.features[0].centroid.shape[1] == 3


@pytest.mark.parametrize("gap_closing", [False, True])
def test_a_missed_detection_breaks_or_bridges_the_track(gap_closing, movie_params):
    movie = generate("timelapse", seed=5, **{**movie_params, "division": 0.0})
    tracks = movie.tracks
    cell = int(tracks[(tracks[:, 1] < 4) & (tracks[:, 2] > 6)][0, 0])
    labels = movie.labels.copy()
    labels[5][labels[5] == cell] = 0
    result = track(labels, movie.images, TrackConfig(gap_closing=gap_closing))
    rows = {int(r[0]): r.tolist() for r in result.tracks}
    before = result.relabel(4, labels[4])[movie.labels[4] == cell][0]
    after = result.relabel(6, labels[6])[movie.labels[6] == cell][0]
    assert rows[before][2] == 4 and rows[after][1] == 6
    assert rows[after][3] == (before if gap_closing else 0)
    assert result.n_gaps_closed == int(gap_closing)
    assert result.n_tracks == len(tracks) + 1


def test_table_has_one_row_per_object(movie):
    result = track(movie.labels, movie.images)
    table = result.table()
    assert table["track_id"].size == sum(np.count_nonzero(np.unique(f)) for f in movie.labels)
    assert np.all(np.diff(table["track_id"]) >= 0)
    parent = dict(zip(result.tracks[:, 0].tolist(), result.tracks[:, 3].tolist()))
    assert table["parent"].tolist() == [parent[t] for t in table["track_id"].tolist()]
    first = table["frame"] == 0
    assert sorted(table["label"][first].tolist()) == np.unique(movie.labels[0])[1:].tolist()
    assert table["size"].dtype.kind == "i"


def test_bad_sequences():
    frame = np.zeros((8, 8), np.uint16)
    frame[2:4, 2:4] = 1
    with pytest.raises(InputError, match="no frames"):
        track([])
    with pytest.raises(InputError, match="differs from the first"):
        track([frame, np.zeros((8, 9), np.uint16)])
    with pytest.raises(InputError, match="does not match the label shape"):
        track([frame, frame], [np.zeros((8, 8)), np.zeros((9, 8))])
    with pytest.raises(InputError, match="image frames"):
        track([frame, frame], [np.zeros((8, 8))])
    with pytest.raises(InputError, match="spacing"):
        track([frame], config=TrackConfig(spacing=(1.0, 1.0, 1.0)))


def test_first_frame_numbers_the_tracks(movie):
    result = track(movie.labels[:3], movie.images[:3], first_frame=10)
    assert result.frames.tolist() == [10, 11, 12]
    assert result.tracks[:, 1].min() == 10 and result.tracks[:, 2].max() == 12


def test_config_from_yaml_dict_and_bad_values():
    from microseg.config import from_dict
    from microseg.errors import ConfigError

    config = from_dict(TrackConfig, {"max_distance": 30, "spacing": [2, 0.5, 0.5],
                                     "gap_closing": True})
    assert config.spacing == (2.0, 0.5, 0.5) and config.max_distance == 30
    for bad in ({"max_distance": -1}, {"size_weight": float("nan")}, {"spacing": [1, 0]},
                {"min_daughter_frames": 0}, {"division_cost": "high"}, {"colour": 1}):
        with pytest.raises(ConfigError):
            from_dict(TrackConfig, bad)


@pytest.mark.parametrize("gap_closing", [False, True])
def test_empty_frames(gap_closing):
    cell = np.zeros((10, 10), np.uint16)
    cell[2:4, 2:4] = 1
    empty = np.zeros_like(cell)
    result = track([empty, cell, empty, cell, cell, empty],
                   config=TrackConfig(gap_closing=gap_closing))
    assert result.tracks.tolist() == [[1, 1, 1, 0], [2, 3, 4, int(gap_closing)]]
    assert track([empty, empty]).tracks.shape == (0, 4)
