"""Per-plane annotations merged into one mask per cell state (the protoplast paper's rule)."""
import numpy as np
import pytest

from microseg.annotate import merge_focal_planes, merge_states
from microseg.errors import ConfigError, InputError


def _disc(shape, centre, radius):
    yy, xx = np.ogrid[:shape[0], :shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


def test_one_cell_drawn_in_several_planes_becomes_its_largest_drawing():
    shape = (40, 40)
    planes = [np.where(_disc(shape, (20, 20), r), 7, 0) for r in (5, 9, 7)]   # blurred, sharp
    merged = merge_focal_planes(planes)
    np.testing.assert_array_equal(merged, _disc(shape, (20, 20), 9).astype(np.uint16))


def test_a_large_cell_discards_the_small_ones_it_covers_and_disjoint_cells_all_stay():
    shape = (60, 60)
    first = np.zeros(shape, np.int32)
    first[_disc(shape, (20, 20), 4)] = 1          # small cell, hidden by the large one below
    first[_disc(shape, (50, 50), 5)] = 2          # a cell alone
    second = np.zeros(shape, np.int32)
    second[_disc(shape, (22, 22), 12)] = 5        # large cell over the small one
    second[_disc(shape, (8, 50), 3)] = 6          # another lone cell
    merged = merge_focal_planes(np.stack([first, second]))
    assert merged.max() == 3                      # large, lone (r 5), lone (r 3); small gone
    np.testing.assert_array_equal(merged == 1, _disc(shape, (22, 22), 12))
    np.testing.assert_array_equal(merged == 2, _disc(shape, (50, 50), 5))
    np.testing.assert_array_equal(merged == 3, _disc(shape, (8, 50), 3))


def test_max_overlap_keeps_a_cell_mostly_outside_others_with_its_free_pixels():
    a = np.zeros((10, 10), np.int32)
    a[0:5, 0:5] = 1                               # 25 pixels, kept first
    b = np.zeros((10, 10), np.int32)
    b[4:8, 0:5] = 1                               # 20 pixels, 5 of them (25 %) under a
    assert merge_focal_planes([a, b]).max() == 1                      # the paper's rule
    merged = merge_focal_planes([a, b], max_overlap=0.3)
    assert (merged == 1).sum() == 25 and (merged == 2).sum() == 15
    assert merge_focal_planes([a, b], max_overlap=0.2).max() == 1


def test_states_are_grouped_by_the_file_names_without_channel_and_plane():
    cell = np.zeros((8, 8), np.int32)
    cell[2:5, 2:5] = 1
    bigger = np.zeros((8, 8), np.int32)
    bigger[1:6, 1:6] = 3
    merged = merge_states({"day1t1c2xy10z12.tif": cell, "day1t1c2xy10z14.tif": bigger,
                           "day1t2c2xy10z12.tif": cell})
    assert sorted(merged) == ["day1t1xy10", "day1t2xy10"]
    np.testing.assert_array_equal(merged["day1t1xy10"], (bigger > 0).astype(np.uint16))
    np.testing.assert_array_equal(merged["day1t2xy10"], cell.astype(np.uint16))
    custom = merge_states({"well_B3_plane2.png": cell, "well_B3_plane5.png": cell},
                          pattern=r"well_(?P<well>\w+?)_plane(?P<z>\d+)", state="{well}")
    assert list(custom) == ["B3"]


def test_bad_names_templates_and_planes_are_refused():
    cell = np.ones((4, 4), np.int32)
    with pytest.raises(InputError, match="notaname.tif"):
        merge_states({"notaname.tif": cell})
    with pytest.raises(ConfigError, match="state template"):
        merge_states({"day1t1c2xy10z12.tif": cell}, state="{well}")
    with pytest.raises(InputError, match="one shape"):
        merge_focal_planes([cell, np.ones((5, 4), np.int32)])
    with pytest.raises(InputError, match="integer labels"):
        merge_focal_planes([cell.astype(float)])
    with pytest.raises(ConfigError, match="max_overlap"):
        merge_focal_planes([cell], max_overlap=1.0)
