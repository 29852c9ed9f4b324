"""Splits: random, by group (file-name metadata), by frame range; groups never straddle splits."""
import numpy as np
import pytest

from microseg.config import from_dict
from microseg.data.splits import (
    SplitConfig,
    group_of,
    group_split,
    parse_filename_metadata,
    random_split,
    range_split,
)
from microseg.errors import ConfigError, InputError


def _protoplast_names():
    """Names like the protoplast study: 2 modalities x 7 focal planes x 6 stage positions."""
    return [f"day1t{t}c{c}xy{xy}z{z}.tif" for xy in (3, 4, 7, 10, 11, 12) for t in (1, 2)
            for c in (1, 2) for z in range(12, 26, 2)]


def test_parse_protoplast_name():
    fields = parse_filename_metadata("day1t1c1xy10z15")
    assert fields == {"day": "1", "t": "1", "c": "1", "xy": "10", "z": "15"}
    assert group_of(fields, ["xy"]) == "xy10"
    assert group_of(fields, ["day", "xy"]) == "day1_xy10"


def test_parse_custom_pattern_and_errors():
    assert parse_filename_metadata("plate3_well_B07.png", r"plate(?P<plate>\d+)_well_(?P<well>\w\d+)") \
        == {"plate": "3", "well": "B07"}
    with pytest.raises(InputError, match="notaname"):
        parse_filename_metadata("notaname.tif")
    with pytest.raises(ConfigError, match="named group"):
        parse_filename_metadata("a1", r"a\d")
    with pytest.raises(ConfigError, match="regular expression"):
        parse_filename_metadata("a1", r"(?P<a>")
    with pytest.raises(ConfigError, match="not among"):
        group_of({"xy": "1"}, ["well"])


def test_random_split_sizes_are_disjoint_and_complete():
    splits = random_split(100, {"train": 0.7, "val": 0.2, "test": 0.1}, seed=3)
    assert [len(v) for v in splits.values()] == [70, 20, 10]
    joined = np.concatenate(list(splits.values()))
    assert np.array_equal(np.sort(joined), np.arange(100))


def test_random_split_is_seeded():
    a = random_split(50, {"train": 0.8, "val": 0.2}, seed=1)
    b = random_split(50, {"train": 0.8, "val": 0.2}, seed=1)
    c = random_split(50, {"train": 0.8, "val": 0.2}, seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["val"], c["val"])


@pytest.mark.parametrize("seed", range(5))
def test_groups_never_straddle_splits(seed):
    names = _protoplast_names()
    groups = [group_of(parse_filename_metadata(n), ["xy"]) for n in names]
    splits = group_split(groups, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=seed)
    owners = {}
    for split, index in splits.items():
        assert len(index) > 0
        for g in {groups[i] for i in index}:
            assert owners.setdefault(g, split) == split, f"group {g} in {owners[g]} and {split}"
    assert sum(len(v) for v in splits.values()) == len(names)


def test_group_split_follows_fractions_with_many_groups():
    groups = [f"g{i // 3}" for i in range(300)]  # 100 groups of 3
    splits = group_split(groups, {"train": 0.75, "val": 0.25}, seed=0)
    assert len(splits["train"]) == 225 and len(splits["val"]) == 75


def test_fixed_group_goes_to_its_split():
    names = _protoplast_names()
    groups = [group_of(parse_filename_metadata(n), ["xy"]) for n in names]
    config = from_dict(SplitConfig, {"method": "group", "fractions": {"train": 0.8, "val": 0.2},
                                     "fixed": {"test": ["xy10"]}})
    splits = config.apply(groups)
    assert {groups[i] for i in splits["test"]} == {"xy10"}
    assert len(splits["test"]) == sum(g == "xy10" for g in groups)
    assert "xy10" not in {groups[i] for i in np.concatenate([splits["train"], splits["val"]])}
    assert config.names == ["train", "val", "test"]


def test_fixed_group_errors():
    with pytest.raises(ConfigError, match="does not occur"):
        group_split(["a", "b"], {"train": 1.0}, fixed={"test": ["c"]})
    with pytest.raises(ConfigError, match="pinned to both"):
        group_split(["a", "b"], {"train": 1.0}, fixed={"test": ["a"], "val": ["a"]})
    with pytest.raises(ConfigError, match="fractions"):
        group_split(["a"], {"train": -1})
    with pytest.raises(ConfigError, match="method"):
        SplitConfig(method="stratified")


def test_range_split_half_open():
    frames = [0, 2, 5, 34, 35, 47, 91]
    splits = range_split(frames, {"train": [0, 35], "val": [35, 92]})
    assert [frames[i] for i in splits["train"]] == [0, 2, 5, 34]
    assert [frames[i] for i in splits["val"]] == [35, 47, 91]


@pytest.mark.parametrize("ranges", [{"train": [0, 10], "val": [5, 20]}, {"train": [10, 5]},
                                   {"train": [0]}, {"train": [0.5, 2]}, {}])
def test_bad_ranges(ranges):
    with pytest.raises(ConfigError):
        range_split([1, 2], ranges)


@pytest.mark.parametrize("seed", range(3))
def test_file_names_split_by_stage_position_keep_every_position_in_one_split(seed):
    from microseg.data.splits import split_by_fields

    names = _protoplast_names()
    splits = split_by_fields(names, {"train": 0.7, "test": 0.3}, seed=seed,
                             fixed={"test": ["xy10"]})
    positions = {split: {parse_filename_metadata(n)["xy"] for n in members}
                 for split, members in splits.items()}
    assert not positions["train"] & positions["test"] and "10" in positions["test"]
    assert sorted(splits["train"] + splits["test"]) == sorted(names)
