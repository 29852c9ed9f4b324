"""Time-lapse inputs for the tracker: a folder with one file per frame, or one stack file.

A folder holds one image file per frame (``maskTTT.tif``, ``man_trackTTT.tif``, ``tTTT.tif``, any
names): the frames are its image files in natural order and, when every name ends in a number,
those numbers are the frame numbers and must be consecutive (a missing number is a missing
frame). A single file is a stack with time first: ``(T, Y, X)`` or ``(T, Z, Y, X)``, frames
numbered from 0. Folder frames are read when indexed, one at a time.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np

from microseg.errors import InputError
from microseg.io.folders import list_images
from microseg.io.images import read_array, read_image, read_labels

_NUMBER = re.compile(r"(\d+)$")


class FrameSequence:
    """The frames of a time-lapse, indexed by position ``0..T-1``; ``frames`` holds their frame
    numbers and ``name(k)`` what to call frame ``k`` in messages."""

    def __init__(self, source: Path, frames: list[int], read: Callable[[int], np.ndarray],
                 names: list[str]):
        self.source, self.frames = source, frames
        self._read, self._names = read, names

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, k: int) -> np.ndarray:
        if not 0 <= k < len(self):
            raise IndexError(k)
        return self._read(k)

    def name(self, k: int) -> str:
        return self._names[k]


def open_sequence(path: str | Path, labels: bool = False) -> FrameSequence:
    """Open a folder of frames or a stack file (see the module docstring) as a
    :class:`FrameSequence`; ``labels=True`` reads label images (checked, uint16/uint32).

    Raises :class:`InputError` for a missing path, a folder without images, repeated or missing
    frame numbers, or a stack that is not ``(T, Y, X)`` / ``(T, Z, Y, X)``.
    """
    path = Path(path)
    if path.is_dir():
        read_frame = read_labels if labels else read_frame_image
        files, frames = _numbered(path, list_images(path))
        return FrameSequence(path, frames, lambda k: read_frame(files[k]),
                             [str(f) for f in files])
    if not path.exists():
        raise InputError(path, "not found")
    stack = (read_labels if labels else read_array)(path)
    if stack.ndim not in (3, 4):
        raise InputError(path, f"a stack must be (T, Y, X) or (T, Z, Y, X), got shape "
                               f"{stack.shape}")
    return FrameSequence(path, list(range(len(stack))), lambda k: stack[k],
                         [f"{path} [t={k}]" for k in range(len(stack))])


def read_frame_image(path: Path) -> np.ndarray:
    """One frame file as ``(Y, X)`` or ``(Z, Y, X)``: the file's own axes, channels (and colour
    samples) averaged, since the tracker's features take one intensity per pixel."""
    read = read_image(path)
    image, axes = read.array, read.axes
    if "T" in axes:
        raise InputError(path, f"a frame file holds a time axis (axes {axes})")
    for letter in ("C", "S"):
        if letter in axes:
            image = image.mean(axis=axes.index(letter))
            axes = axes.replace(letter, "")
    return image


def check_pair(labels: FrameSequence, images: FrameSequence) -> None:
    """Raise :class:`InputError` unless ``images`` has a frame for every label frame (same count
    and, when both are numbered, the same numbers)."""
    if labels.frames != images.frames:
        only_labels = sorted(set(labels.frames) - set(images.frames))
        only_images = sorted(set(images.frames) - set(labels.frames))
        raise InputError(images.source, f"frames do not match the labels in {labels.source}: "
                                        f"{len(labels)} label frames {_span(labels.frames)}, "
                                        f"{len(images)} image frames {_span(images.frames)}"
                                        + (f"; no image for frames {only_labels[:10]}"
                                           if only_labels else "")
                                        + (f"; no labels for frames {only_images[:10]}"
                                           if only_images else ""))


def _numbered(folder: Path, files: list[Path]) -> tuple[list[Path], list[int]]:
    """``files`` in frame order and their frame numbers (positions when not all are numbered)."""
    matches = [_NUMBER.search(f.stem) for f in files]
    if not all(matches):
        return files, list(range(len(files)))
    numbers = [int(m.group(1)) for m in matches]
    if len(set(numbers)) != len(numbers):
        raise InputError(folder, "several files carry the same frame number")
    files = [f for _, f in sorted(zip(numbers, files))]
    numbers = sorted(numbers)
    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if missing:
        raise InputError(folder, f"missing frame(s) {missing[:10]}"
                                 f"{' …' if len(missing) > 10 else ''} between frames "
                                 f"{numbers[0]} and {numbers[-1]}")
    return files, numbers


def _span(frames: list[int]) -> str:
    return f"{frames[0]}–{frames[-1]}" if frames else "(none)"
