"""Choosing part of an image file: channels (by index or name), time points and scenes.

The command line writes them as text, parsed here the same way for every command::

    --channel 0        --channel DAPI       --channel 0,1       --channel DAPI,GFP
    --frames 3         --frames 0:10        --frames 0,5,9      --scene 1 | --scene NAME

``0:10`` is a Python range: frames 0 to 9. Channels and frames count from 0.

>>> parse_channels("DAPI,1")
['DAPI', 1]
>>> parse_frames("0:10"), parse_frames("3"), parse_frames("0,5,9")
(slice(0, 10, None), 3, [0, 5, 9])
"""
from __future__ import annotations

from numbers import Integral
from pathlib import Path
from typing import Sequence, Union

from microseg.errors import InputError

#: One channel (an index or a name), or several in the order wanted.
Channels = Union[int, str, Sequence[Union[int, str]]]
#: One frame (its axis is dropped), several, or a range of them.
Frames = Union[int, slice, Sequence[int]]


def parse_channels(text: str) -> int | str | list[int | str]:
    """``"0"`` → 0, ``"DAPI"`` → ``"DAPI"``, ``"0,1"`` / ``"DAPI,GFP"`` → a list: whole
    numbers are indexes, anything else a name. ValueError on an empty choice."""
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise ValueError(f"expected channel indexes or names separated by commas, got {text!r}")
    values = [int(part) if part.isdigit() else part for part in parts]
    return values if "," in text else values[0]


def parse_frames(text: str) -> int | slice | list[int]:
    """``"3"`` → 3, ``"0:10"`` / ``"5:"`` / ``"0:10:2"`` → a slice, ``"0,5,9"`` → a list;
    ValueError otherwise."""
    try:
        if ":" in text:
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3:
                raise ValueError
            return slice(*parts)
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"expected frames as N, A:B or N,M,…, got {text!r}") from None
    return values if "," in text else values[0]


def frame_indices(choice: Frames | str, count: int, path: str | Path | None) -> int | list[int]:
    """The frames ``choice`` picks of ``count`` (an int stays an int: one frame, its time axis
    dropped); :class:`InputError` for frames the file does not have."""
    if isinstance(choice, str):
        try:
            choice = parse_frames(choice)
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
    if isinstance(choice, slice):
        picked = list(range(count))[choice]
        if not picked:
            raise InputError(path, f"frames {_range(choice)} select none of the file's {count} "
                                   f"frames")
        return picked
    several = not isinstance(choice, Integral)
    indices = list(choice) if several else [choice]
    bad = [i for i in indices if not -count <= int(i) < count]
    if bad or not indices:
        raise InputError(path, f"no frame {bad[0] if bad else '(none chosen)'}: the file has "
                               f"{count} frames (0–{count - 1})")
    indices = [int(i) % count for i in indices]
    return indices if several else indices[0]


def channel_indices(choice: Channels, count: int, names: Sequence[str],
                    path: str | Path | None) -> int | list[int]:
    """The channels ``choice`` picks among ``count`` channels named ``names`` (empty: unnamed):
    indexes, or names (exact, else ignoring case). An int or name stays one channel (its axis
    dropped). :class:`InputError` listing the file's channels for a choice it does not have."""
    several = not isinstance(choice, (Integral, str))
    picked = [_channel(c, count, names, path) for c in (choice if several else [choice])]
    if not picked:
        raise InputError(path, f"no channel chosen; the file's channels: "
                               f"{describe_channels(count, names)}")
    return picked if several else picked[0]


def describe_channels(count: int, names: Sequence[str]) -> str:
    """``0 'DAPI', 1 'GFP'``, or ``0, 1 (unnamed)`` when the file names none."""
    if len(names) != count:
        return ", ".join(map(str, range(count))) + " (unnamed)"
    return ", ".join(f"{i} {name!r}" for i, name in enumerate(names))


def scene_index(path: str | Path | None, scene: int | str, names: Sequence[str]) -> int:
    """The index of ``scene`` (an index, or one of the scene ``names``) among ``names``;
    :class:`InputError` listing them when there is no such scene."""
    if isinstance(scene, str) and scene in names:
        return list(names).index(scene)
    if isinstance(scene, Integral) or (isinstance(scene, str) and scene.isdigit()):
        if 0 <= int(scene) < len(names):
            return int(scene)
    listed = ", ".join(f"{i} {name!r}" for i, name in enumerate(names))
    raise InputError(path, f"no scene {scene!r}; the file's scenes: {listed}")


def _channel(choice: int | str, count: int, names: Sequence[str],
             path: str | Path | None) -> int:
    if isinstance(choice, str) and len(names) == count:
        if choice in names:
            return list(names).index(choice)
        folded = [i for i, name in enumerate(names) if name.casefold() == choice.casefold()]
        if len(folded) == 1:
            return folded[0]
    if isinstance(choice, str) and choice.isdigit():
        choice = int(choice)
    if isinstance(choice, Integral) and not isinstance(choice, bool) and 0 <= choice < count:
        return int(choice)
    raise InputError(path, f"no channel {choice!r}; the file's channels: "
                           f"{describe_channels(count, names)}")


def _range(choice: slice) -> str:
    return ":".join("" if v is None else str(v) for v in (choice.start, choice.stop)) + \
        ("" if choice.step is None else f":{choice.step}")
