"""Annotations made plane by plane of a z-stack → one mask per cell state (the protoplast
workflow, Munteanu 2024, 002_b48028eca5347a5f.txt).

The study annotates each focal plane of a state (one day, time point and stage position ``xy``)
separately, since a cell is sharp in some planes and blurred in others, and then combines the
planes' masks into one mask that serves every plane and channel of that state (section 4.1,
"combined into one general mask reflecting the ground truth for the corresponding cell state").
Where objects of different planes overlap — the same cell drawn in several planes, or a large
cell that covers a smaller one at other depths — only the larger object is kept and the smaller
is discarded (section 5.1, "the smaller cells are discarded and only the big cell is added to the
final annotation mask"). :func:`merge_focal_planes` applies that rule; :func:`merge_states` groups
per-plane annotation files by state with their file names' metadata
(:func:`~microseg.data.splits.parse_filename_metadata`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy import ndimage as ndi

from microseg.data.splits import PROTOPLAST_PATTERN, parse_filename_metadata
from microseg.errors import ConfigError, InputError

#: The merged masks' names for the protoplast pattern: the state without channel and plane, as
#: ``configs/protoplast_unet.yaml`` names its label files (``label_template``).
PROTOPLAST_STATE = "day{day}t{t}xy{xy}"


def merge_focal_planes(planes: Sequence[np.ndarray] | np.ndarray,
                       max_overlap: float = 0.0) -> np.ndarray:
    """One instance mask ``(Y, X)`` from the annotations of several focal planes.

    Args:
        planes: label images ``(Y, X)``, one per plane (a sequence or a ``(Z, Y, X)`` array);
            0 = background, ids are per plane.
        max_overlap: the objects of every plane are taken largest first; each one is kept when
            at most this fraction of its pixels is already covered by a kept object (0: any
            overlap discards it, the paper's rule), and then adds only its uncovered pixels.
            Objects of equal size: the earlier plane first.

    Returns:
        Consecutive labels (uint16, uint32 when needed), numbered in the order objects were kept
        (the largest is 1).

    >>> a = np.array([[1, 1, 0, 0], [1, 1, 0, 2]])     # plane 1: a cell and a small one
    >>> b = np.array([[0, 3, 3, 3], [0, 3, 3, 3]])     # plane 2: a larger cell over both
    >>> merge_focal_planes([a, b])
    array([[0, 1, 1, 1],
           [0, 1, 1, 1]], dtype=uint16)
    """
    stack = _stack(planes)
    if not 0.0 <= max_overlap < 1.0:
        raise ConfigError(f"max_overlap must be in [0, 1), got {max_overlap}")
    objects = []                                   # (−area, plane, id) sorts largest first
    boxes = []
    for z, plane in enumerate(stack):
        boxes.append(ndi.find_objects(plane))
        counts = np.bincount(plane.ravel())
        objects += [(-int(counts[i]), z, int(i)) for i in np.flatnonzero(counts) if i > 0]
    dtype = np.uint16 if len(objects) < 2**16 else np.uint32
    merged = np.zeros(stack.shape[1:], dtype)
    kept = 0
    for negative_area, z, label in sorted(objects):
        box = boxes[z][label - 1]
        pixels = stack[z][box] == label
        window = merged[box]                       # a view: writes go to merged
        if np.count_nonzero(window[pixels]) > max_overlap * -negative_area:
            continue
        kept += 1
        window[pixels & (window == 0)] = kept
    return merged


def merge_states(annotations: Mapping[str, np.ndarray], pattern: str = PROTOPLAST_PATTERN,
                 state: str = PROTOPLAST_STATE,
                 max_overlap: float = 0.0) -> dict[str, np.ndarray]:
    """Per-plane annotations named like their images (``day1t1c2xy10z14.tif`` → labels) →
    state name → merged mask (:func:`merge_focal_planes`, planes in name order).

    ``pattern`` reads each name's fields (:func:`~microseg.data.splits.parse_filename_metadata`);
    ``state`` builds the state's name from them (a ``str.format`` template: what stays the same
    across the planes and channels of one state). A name the pattern does not fit raises
    :class:`InputError` naming it; a template field the pattern lacks, :class:`ConfigError`.

    >>> plane = np.array([[1, 0], [0, 0]])
    >>> sorted(merge_states({"day1t1c2xy3z12.tif": plane, "day1t1c2xy3z14.tif": plane,
    ...                      "day1t1c2xy4z12.tif": plane}))
    ['day1t1xy3', 'day1t1xy4']
    """
    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for name, labels in annotations.items():
        fields = parse_filename_metadata(name, pattern)
        try:
            key = state.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"state template {state!r} does not fit the fields "
                              f"{sorted(fields)} of pattern {pattern!r} ({exc})") from None
        groups.setdefault(key, []).append((name, labels))
    return {key: merge_focal_planes([labels for _, labels in sorted(members, key=_plane_order)],
                                    max_overlap)
            for key, members in groups.items()}


def _plane_order(member: tuple[str, np.ndarray]) -> tuple:
    from microseg.io.folders import natural_key

    return natural_key(member[0])


def _stack(planes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """The planes as one integer ``(Z, Y, X)`` array; InputError for no plane, planes of
    different shapes or non-integer labels."""
    arrays = [np.asarray(p) for p in planes]
    if not arrays:
        raise InputError(None, "no focal plane to merge")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2:
        raise InputError(None, f"focal planes must be label images (Y, X) of one shape, got "
                               f"{sorted(shapes)}")
    stack = np.stack(arrays)
    if stack.dtype.kind not in "iub" or (stack.size and stack.min() < 0):
        raise InputError(None, f"focal planes must hold non-negative integer labels, got "
                               f"{stack.dtype}")
    return stack.astype(np.int64, copy=False)
