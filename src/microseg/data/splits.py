"""Train/validation/test splits that never let one group straddle two splits.

Three ways to split a list of items:

* :func:`random_split` — seeded, each item on its own;
* :func:`group_split` — seeded, whole groups at a time (a stage position ``xy``, a sequence, a
  patient), optionally pinning named groups to a split (the protoplast study keeps position
  ``xy10`` for testing, 002_b48028eca5347a5f.txt); :func:`split_by_fields` does so for file
  names, grouped by their metadata;
* :func:`range_split` — by position in a sequence (frame or slice index ranges).

Groups are often encoded in file names; :func:`parse_filename_metadata` reads such names with a
regular expression whose named groups become fields (default: ``day1t1c1xy10z15`` → day, t, c,
xy, z as in the protoplast data).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Mapping, Sequence

import numpy as np

from microseg.config import check_fields
from microseg.errors import ConfigError, InputError

PROTOPLAST_PATTERN = r"day(?P<day>\d+)t(?P<t>\d+)c(?P<c>\d+)xy(?P<xy>\d+)z(?P<z>\d+)"


def parse_filename_metadata(name: str, pattern: str = PROTOPLAST_PATTERN) -> dict[str, str]:
    """Fields of a file name read with ``pattern`` (searched anywhere in ``name``).

    Every named group of the regular expression becomes a key; values stay strings so that
    ``"010"`` and ``"10"`` are not silently merged.

    >>> parse_filename_metadata("day1t1c1xy10z15.tif")
    {'day': '1', 't': '1', 'c': '1', 'xy': '10', 'z': '15'}

    Raises :class:`InputError` naming the file when the pattern does not match, and
    :class:`ConfigError` when the pattern is not a valid expression or has no named group.
    """
    regex = _compile(pattern)
    match = regex.search(str(name))
    if match is None:
        raise InputError(name, f"file name does not match the metadata pattern {pattern!r}")
    return {k: v for k, v in match.groupdict().items() if v is not None}


def group_of(fields: Mapping[str, str], keys: Sequence[str]) -> str:
    """Group name from selected metadata fields, e.g. ``{"xy": "10", …}``, ``["xy"]`` → ``xy10``."""
    missing = [k for k in keys if k not in fields]
    if missing:
        raise ConfigError(f"group keys {missing} are not among the file-name fields {sorted(fields)}")
    return "_".join(f"{k}{fields[k]}" for k in keys)


def _compile(pattern: str) -> re.Pattern:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"metadata pattern {pattern!r} is not a regular expression ({exc})") \
            from None
    if not regex.groupindex:
        raise ConfigError(f"metadata pattern {pattern!r} has no named group (?P<name>…)")
    return regex


@dataclass
class SplitConfig:
    """How a source's items are divided when the source has no split of its own.

    ``method``: ``random`` (items independently) or ``group`` (whole groups). ``fractions``: share
    of items per split name (normalised to sum 1). ``fixed``: groups pinned to a split, e.g.
    ``{test: [xy10]}``; the remaining groups are divided by ``fractions``. ``seed`` makes the
    division reproducible.
    """

    method: Literal["random", "group"] = "group"
    fractions: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "val": 0.2})
    seed: int = 0
    fixed: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        check_fields(self, "split")
        _check_fractions(self.fractions)
        if self.fixed is not None and self.method != "group":
            raise ConfigError("split: 'fixed' groups need method 'group'")

    @property
    def names(self) -> list[str]:
        """Split names this configuration can produce."""
        return list(dict.fromkeys([*self.fractions, *(self.fixed or {})]))

    def apply(self, groups: Sequence[str]) -> dict[str, np.ndarray]:
        """Indices of ``groups`` per split (see :func:`random_split` / :func:`group_split`)."""
        if self.method == "random":
            return random_split(len(groups), self.fractions, self.seed)
        return group_split(groups, self.fractions, self.seed, self.fixed)


def random_split(n: int, fractions: Mapping[str, float], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded split of ``n`` items → ``{split: sorted item indices}``; sizes follow ``fractions``
    (rounded; every split with a positive fraction gets an item while items last)."""
    return group_split([str(i) for i in range(n)], fractions, seed)


def group_split(groups: Sequence[str], fractions: Mapping[str, float], seed: int = 0,
                fixed: Mapping[str, Sequence[str]] | None = None) -> dict[str, np.ndarray]:
    """Seeded split of items by their ``groups[i]`` → ``{split: sorted item indices}``.

    All items of a group land in the same split. Groups named in ``fixed`` go to their split;
    the others are shuffled (``seed``) and each is given to the split furthest below its target
    item count (``fractions`` × items not pinned), after every split with a positive fraction has
    received one group (while groups last). A pinned group that does not occur, or one pinned
    to two splits, raises :class:`ConfigError`.
    """
    fractions = _check_fractions(fractions)
    groups = [str(g) for g in groups]
    names, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    assignment: dict[str, str] = {}
    for split, pinned in (fixed or {}).items():
        for g in map(str, pinned):
            if g not in names:
                raise ConfigError(f"split: fixed group {g!r} for {split!r} does not occur; "
                                  f"groups are {_shown(names)}")
            if assignment.get(g, split) != split:
                raise ConfigError(f"split: group {g!r} pinned to both {assignment[g]!r} and "
                                  f"{split!r}")
            assignment[g] = split
    free = [i for i, g in enumerate(names) if g not in assignment]
    order = [free[i] for i in np.random.default_rng(seed).permutation(len(free))]
    total = float(sizes[free].sum())
    targets = {s: f * total for s, f in fractions.items()}
    counts = dict.fromkeys(fractions, 0.0)
    positive = [s for s, f in fractions.items() if f > 0]
    for step, g in enumerate(order):
        if step < len(positive):
            split = positive[step]
        else:
            split = max(fractions, key=lambda s: targets[s] - counts[s])
        assignment[str(names[g])] = split
        counts[split] += sizes[g]
    group_split_of = np.array([assignment[str(g)] for g in names], dtype=object)
    item_split = group_split_of[inverse]
    out = {s: np.flatnonzero(item_split == s) for s in dict.fromkeys([*fractions, *(fixed or {})])}
    return out


def split_by_fields(names: Sequence[str], fractions: Mapping[str, float], *,
                    pattern: str = PROTOPLAST_PATTERN, group_by: Sequence[str] = ("xy",),
                    seed: int = 0, fixed: Mapping[str, Sequence[str]] | None = None
                    ) -> dict[str, list[str]]:
    """File ``names`` split by the group their ``group_by`` fields form (read with ``pattern``,
    :func:`parse_filename_metadata`; default: the stage position ``xy``, so that no field of
    view is in two splits) → ``{split: names}`` (see :func:`group_split` for ``fractions``,
    ``seed`` and ``fixed``, whose groups are named as :func:`group_of` names them, e.g.
    ``xy10``).

    >>> names = [f"day1t1c1xy{xy}z{z}.tif" for xy in (1, 2, 3) for z in (12, 14)]
    >>> split_by_fields(names, {"train": 1}, fixed={"test": ["xy3"]})["test"]
    ['day1t1c1xy3z12.tif', 'day1t1c1xy3z14.tif']
    """
    groups = [group_of(parse_filename_metadata(name, pattern), group_by) for name in names]
    return {split: [names[i] for i in index]
            for split, index in group_split(groups, fractions, seed, fixed).items()}


def range_split(positions: Sequence[int], ranges: Mapping[str, Sequence[int]]
                ) -> dict[str, np.ndarray]:
    """Split items by their position (frame or slice index): ``ranges`` maps a split name to a
    half-open ``[start, stop)``, e.g. ``{"train": [0, 60], "val": [60, 92]}``.

    Returns ``{split: indices of items whose position lies in the range}``. Ranges that are not
    two integers with ``start < stop``, or that overlap, raise :class:`ConfigError`.
    """
    checked = check_ranges(ranges)
    positions = np.asarray(positions, dtype=np.int64)
    return {s: np.flatnonzero((positions >= a) & (positions < b)) for s, (a, b) in checked.items()}


def check_ranges(ranges: Mapping[str, Sequence[int]]) -> dict[str, tuple[int, int]]:
    """Validate split ranges (see :func:`range_split`) → ``{split: (start, stop)}``."""
    if not isinstance(ranges, Mapping) or not ranges:
        raise ConfigError(f"ranges must map split names to [start, stop), got {ranges!r}")
    checked: dict[str, tuple[int, int]] = {}
    for split, bounds in ranges.items():
        if (not isinstance(bounds, Sequence) or len(bounds) != 2
                or not all(isinstance(b, (int, np.integer)) for b in bounds)
                or not 0 <= bounds[0] < bounds[1]):
            raise ConfigError(f"range of split {split!r} must be [start, stop) with "
                              f"0 ≤ start < stop, got {bounds!r}")
        checked[str(split)] = (int(bounds[0]), int(bounds[1]))
    spans = sorted((a, b, s) for s, (a, b) in checked.items())
    for (a1, b1, s1), (a2, b2, s2) in zip(spans, spans[1:]):
        if a2 < b1:
            raise ConfigError(f"ranges of splits {s1!r} [{a1}, {b1}) and {s2!r} [{a2}, {b2}) "
                              f"overlap")
    return checked


def _check_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(fractions, Mapping) or not fractions:
        raise ConfigError(f"split fractions must map split names to shares, got {fractions!r}")
    values = {str(k): v for k, v in fractions.items()}
    if any(not isinstance(v, (int, float)) or v < 0 for v in values.values()) \
            or sum(values.values()) <= 0:
        raise ConfigError(f"split fractions must be ≥ 0 with a positive sum, got {fractions!r}")
    total = float(sum(values.values()))
    return {k: float(v) / total for k, v in values.items()}


def _shown(names: Sequence[str], limit: int = 10) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (f" … and {len(names) - limit} more"
                                       if len(names) > limit else "")
