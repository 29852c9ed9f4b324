import numpy as np

from microseg.measure import label_runs


def test_runs_of_a_small_image_match_hand_count():
    labels = np.array([[0, 5, 5, 0, 5],
                       [2, 2, 0, 0, 0],
                       [5, 2, 2, 2, 0]])
    runs = label_runs(labels)
    assert runs.ids.tolist() == [2, 5]
    assert runs.offsets.tolist() == [0, 2, 5]
    # object 2: row 1 x 0..1, row 2 x 1..3; object 5: row 0 x 1..2, row 0 x 4, row 2 x 0
    assert runs.line.tolist() == [1, 2, 0, 0, 2]
    assert runs.x0.tolist() == [0, 1, 1, 4, 0]
    assert runs.x1.tolist() == [1, 3, 2, 4, 0]
    flat = labels.ravel()
    for segment, first, line in zip(runs.segment, runs.x0, runs.line):
        assert runs.segment_starts[segment] == line * labels.shape[1] + first
    assert flat[runs.segment_starts].tolist().count(0) == 4  # background stretches kept too


def test_runs_cover_every_pixel_once_in_3d(rng):
    labels = rng.integers(0, 4, size=(3, 5, 7))
    runs = label_runs(labels)
    painted = np.zeros(labels.size, np.int64)
    obj = runs.object_of_run()
    for k, line, first, last in zip(obj, runs.line, runs.x0, runs.x1):
        painted[line * 7 + first:line * 7 + last + 1] = runs.ids[k]
    np.testing.assert_array_equal(painted.reshape(labels.shape), labels)
    assert np.all(runs.x1 >= runs.x0)
    assert runs.reduce(np.add, runs.length).tolist() == [np.sum(labels == i) for i in (1, 2, 3)]


def test_runs_of_background_only_are_empty():
    runs = label_runs(np.zeros((4, 6), np.uint16))
    assert runs.n_objects == 0 and runs.line.size == 0 and runs.offsets.tolist() == [0]
