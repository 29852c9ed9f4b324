"""Stitching across block faces, on blocks labelled as a perfect segmentation would label them:
the crop of a known label image, renumbered per block."""
import numpy as np
import pytest
from skimage.draw import disk, ellipsoid
from skimage.segmentation import relabel_sequential

from microseg.scale.blocks import BlockGrid
from microseg.scale.stitch import core_first, face_slabs, match_face, resolve


def _stitched(truth: np.ndarray, grid: BlockGrid) -> np.ndarray:
    """Every extended block labelled from ``truth`` (ids of its own), stitched."""
    cores, n_core, slabs = {}, {}, {}
    for index in grid.indices():
        start = grid.extended_start(index)
        stop = [s + c[i] + (h if i > 0 else 0) + (h if i < len(c) - 1 else 0)
                for s, c, h, i in zip(start, grid.chunks, grid.halo, index)]
        crop = truth[tuple(slice(a, b) for a, b in zip(start, stop))]
        local = relabel_sequential(crop[::-1].copy())[0][::-1]   # ids unrelated to truth's
        labels, n_core[index] = core_first(local, grid.core_in_extended(index))
        cores[index] = labels[grid.core_in_extended(index)]
        slabs[index] = face_slabs(labels, grid, index)
    matches = [(a, b, match_face(slabs[a][axis, +1], slabs[b][axis, -1]))
               for a, b, axis in grid.faces()]
    tables, refused = resolve(n_core, grid, [(a, b, *m) for a, b, m in matches])
    assert refused == 0
    out = np.zeros(truth.shape, np.uint32)
    for index in grid.indices():
        start = grid.core_start(index)
        where = tuple(slice(s, s + c[i]) for s, c, i in zip(start, grid.chunks, index))
        out[where] = tables[index][cores[index]]
    return out


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return len(pairs[0]) == len(np.unique(pairs[0])) == len(np.unique(pairs[1]))


def test_objects_cut_by_faces_and_corners_get_one_id():
    truth = np.zeros((90, 100), np.uint16)
    centres = [(30, 30), (30, 62), (58, 50), (10, 90), (80, 10), (45, 31)]
    for i, centre in enumerate(centres, start=1):
        truth[disk(centre, 8, shape=truth.shape)] = i
    stitched = _stitched(truth, BlockGrid.make(truth.shape, block=30, halo=12))
    assert _same_partition(truth, stitched)
    assert sorted(np.unique(stitched)) == list(range(len(centres) + 1))


def test_ids_are_numbered_by_first_core_piece_whatever_the_blocks_call_them():
    truth = np.zeros((40, 40), np.uint16)
    truth[2:8, 25:35] = 5        # in block (0, 1) only
    truth[15:25, 5:30] = 9       # across the face between blocks (0, 0) and (0, 1) and below
    stitched = _stitched(truth, BlockGrid.make(truth.shape, block=20, halo=6))
    assert stitched[20, 10] == 1 and stitched[5, 30] == 2     # (0, 0) holds 9's first piece


def test_touching_objects_stay_apart_across_faces():
    truth = np.zeros((64, 64), np.uint16)
    truth[:, :33] = 1            # the two halves touch along column 33,
    truth[:, 33:] = 2            # just beside the face at column 32
    truth[40:, :] = 3
    stitched = _stitched(truth, BlockGrid.make(truth.shape, block=32, halo=8))
    assert _same_partition(truth, stitched)


def test_3d_blocks_stitch_as_2d_ones():
    truth = np.zeros((40, 40, 40), np.uint16)
    ball = ellipsoid(9, 9, 9)
    for i, (z, y, x) in enumerate([(2, 2, 2), (18, 10, 19), (20, 20, 1)], start=1):
        region = truth[z:z + ball.shape[0], y:y + ball.shape[1], x:x + ball.shape[2]]
        region[ball[:region.shape[0], :region.shape[1], :region.shape[2]]] = i
    stitched = _stitched(truth, BlockGrid.make(truth.shape, block=(16, 20, 20), halo=(8, 8, 8)))
    assert _same_partition(truth, stitched)


def test_pieces_that_disagree_in_the_slab_are_not_joined():
    lower = np.zeros((4, 10), np.uint32)
    upper = np.zeros((4, 10), np.uint32)
    lower[:, :6] = 1
    upper[:, :2] = 1             # IoU 1/3 with lower's object
    upper[:, 2:] = 2             # IoU 4/10
    assert match_face(lower, upper)[0].size == 0
    upper[:, :5] = 1             # IoU 5/6
    pairs, iou = match_face(lower, upper)
    assert pairs.tolist() == [[1, 1]] and iou.tolist() == [5 / 6]


@pytest.mark.parametrize("seed", range(3))
def test_random_partitions_survive_any_block_grid(seed):
    rng = np.random.default_rng(seed)
    truth = np.zeros((70, 80), np.uint16)
    for i in range(1, 15):
        y, x = rng.integers(0, 70), rng.integers(0, 80)
        truth[disk((y, x), int(rng.integers(3, 9)), shape=truth.shape)] = i
    block = tuple(int(b) for b in rng.integers(18, 30, 2))
    stitched = _stitched(truth, BlockGrid.make(truth.shape, block=block, halo=18))
    kept = np.unique(truth)                 # drawn later hides earlier: ids may vanish
    assert _same_partition(truth, stitched)
    assert stitched.max() == len(kept) - 1


def test_a_join_of_two_objects_one_block_saw_apart_is_refused():
    grid = BlockGrid.make((30, 30), block=10, halo=5)
    n_core = {index: 0 for index in grid.indices()}
    n_core[0, 0] = n_core[0, 1] = n_core[0, 2] = n_core[1, 2] = 1
    n_core[1, 1] = 2                 # two objects, apart in the core of block (1, 1)
    pair = np.array([[1, 1]])
    matches = [((1, 1), (1, 2), np.array([[2, 1]]), np.array([0.95])),
               ((0, 0), (0, 1), pair, np.array([0.9])),
               ((0, 1), (1, 1), pair, np.array([0.8])),
               ((0, 1), (0, 2), pair, np.array([0.7])),
               ((0, 2), (1, 2), pair, np.array([0.6]))]
    # best first: (1, 1):2 ~ (1, 2):1; (0, 0):1 ~ (0, 1):1 ~ (1, 1):1 ~ (0, 2):1; the last
    # match would join (1, 1)'s objects 1 and 2 through (0, 2) and (1, 2): refused
    tables, refused = resolve(n_core, grid, matches)
    assert refused == 1
    assert tables[0, 0][1] == tables[0, 1][1] == tables[1, 1][1] == tables[0, 2][1]
    assert tables[1, 1][2] == tables[1, 2][1] != tables[1, 1][1]
    assert sorted({int(t[-1]) for t in tables.values() if len(t) > 1}) == [1, 2]
