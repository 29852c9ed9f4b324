"""The block grid: cores tile the image, halos as dask's overlap grows chunks."""
import dask.array as da
import numpy as np
import pytest

from microseg.errors import ConfigError
from microseg.scale.blocks import BlockGrid


def test_cores_tile_the_image_and_a_short_rest_joins_the_last_core():
    grid = BlockGrid.make((100, 64, 10), block=(32, 32, 32), halo=(8, 8, 8))
    assert grid.chunks == ((32, 32, 36), (32, 32), (10,))
    assert grid.halo == (8, 8, 0)                       # one core along x: no halo needed
    assert [sum(c) for c in grid.chunks] == [100, 64, 10]
    assert BlockGrid.make((100,), 30, 8).chunks == ((30, 30, 30, 10),)


def test_extended_regions_are_the_chunks_of_dask_overlap():
    grid = BlockGrid.make((70, 45), block=(20, 16), halo=(6, 4))
    image = np.arange(70 * 45).reshape(70, 45)
    extended = da.overlap.overlap(da.from_array(image, chunks=grid.chunks),
                                  dict(enumerate(grid.halo)), boundary="none")
    blocks = extended.to_delayed()
    for index in grid.indices():
        block = blocks[index].compute()
        start = grid.extended_start(index)
        np.testing.assert_array_equal(
            block, image[start[0]:start[0] + block.shape[0], start[1]:start[1] + block.shape[1]])
        core = grid.core_start(index)
        inner = block[grid.core_in_extended(index)]
        size = tuple(c[i] for c, i in zip(grid.chunks, index))
        np.testing.assert_array_equal(inner, image[core[0]:core[0] + size[0],
                                                   core[1]:core[1] + size[1]])


def test_faces_pair_every_block_with_its_upper_neighbours_in_c_order():
    grid = BlockGrid.make((40, 60), block=20, halo=4)
    assert list(grid.faces()) == [((0, 0), (1, 0), 0), ((0, 0), (0, 1), 1),
                                  ((0, 1), (1, 1), 0), ((0, 1), (0, 2), 1),
                                  ((0, 2), (1, 2), 0), ((1, 0), (1, 1), 1),
                                  ((1, 1), (1, 2), 1)]
    assert [grid.linear(i) for i in grid.indices()] == list(range(6))


def test_a_block_smaller_than_its_halo_is_refused():
    with pytest.raises(ConfigError, match="at least as large as its halo"):
        BlockGrid.make((100, 100), block=16, halo=32)
    with pytest.raises(ConfigError, match="one number or 2"):
        BlockGrid.make((100, 100), block=(16, 16, 16), halo=4)
