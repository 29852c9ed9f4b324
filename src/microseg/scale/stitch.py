"""Labels of blocks segmented with a halo → one label image: the stitching across block faces.

Every block is segmented on its extended region (core + halo). Its core keeps the block's own
labels; an object cut by a face is therefore made of pieces from the blocks on either side, and
those pieces must get one id. Both blocks saw the whole object (the halo is at least the
network's reach plus the largest object), so their labels agree in the *slab* around the face
(the halo of one block on the core edge of the other, ``2 × halo`` deep): objects of the two
blocks are matched one-to-one there by IoU (:func:`~microseg.post.stitch3d.link_slices`, the
rule that links the objects of consecutive slices) and matched objects are joined, unless a
join would merge two objects that one block saw apart in its core (:func:`resolve`).

Ids are made global without depending on the order blocks finish: within a block the objects
present in its core come first (:func:`core_first`); joined objects share an id, numbered 1, 2,
… in order of their first core object
(blocks in C order, then ids within a block) by :func:`resolve`, which returns each block's
lookup table from its ids to the final ones.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from microseg.post.stitch3d import linked_iou
from microseg.scale.blocks import BlockGrid, Index

#: Objects of two blocks are one when their IoU within the slab of their shared face is at least
#: this (one-to-one matching, as objects of consecutive slices are linked).
FACE_IOU = 0.5
Slabs = dict[tuple[int, int], np.ndarray]
#: ``(lower block, upper block, pairs (M, 2), iou (M,))`` of one face (:func:`match_face`).
Match = tuple[Index, Index, np.ndarray, np.ndarray]


def core_first(labels: np.ndarray, core: tuple[slice, ...]) -> tuple[np.ndarray, int]:
    """``labels`` of an extended block renumbered so that the objects present in ``core`` are
    ``1 … n_core`` and the others follow, each group in the order of the old ids → ``(uint32
    labels, n_core)``.

    >>> labels, n = core_first(np.array([[1, 0, 2, 3]]), (slice(None), slice(2, 4)))
    >>> labels.tolist(), n
    ([[3, 0, 1, 2]], 2)
    """
    labels = np.asarray(labels)
    count = int(labels.max(initial=0))
    present = np.zeros(count + 1, bool)
    present[np.unique(labels[core])] = True
    present[0] = False
    order = np.concatenate([np.flatnonzero(present), np.flatnonzero(~present)[1:]])
    lookup = np.zeros(count + 1, np.uint32)
    lookup[order] = np.arange(1, count + 1, dtype=np.uint32)
    return lookup[labels], int(present.sum())


def face_slabs(labels: np.ndarray, grid: BlockGrid, index: Index) -> Slabs:
    """The slabs of an extended block's ``labels`` at each face it shares with a neighbour:
    ``(axis, side)`` → the ``2 × halo`` layers at that side (−1 low, +1 high)."""
    slabs = {}
    for axis, depth in enumerate(grid.halo):
        for side in (-1, +1):
            if grid.has_neighbour(index, axis, side):
                where = [slice(None)] * labels.ndim
                where[axis] = slice(labels.shape[axis] - 2 * depth, None) if side > 0 \
                    else slice(0, 2 * depth)
                slabs[axis, side] = np.ascontiguousarray(labels[tuple(where)])
    return slabs


def match_face(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(M, 2)`` ``(lower id, upper id)`` of the objects of two blocks that are one, and
    their IoU ``(M,)``: the slabs of their shared face, as the lower block (``lower``) and the
    upper one (``upper``) labelled it, matched one-to-one with IoU ≥ :data:`FACE_IOU`."""
    return linked_iou(lower, upper, FACE_IOU)


def resolve(n_core: Mapping[Index, int], grid: BlockGrid, matches: Sequence[Match]
            ) -> tuple[dict[Index, np.ndarray], int]:
    """Each block's lookup table from its ids (:func:`core_first`) to global ids → ``({index:
    uint32 (n_core + 1,)}, joins refused)`` (entry 0 of a table is 0).

    ``n_core``: the number of core objects of every block; ``matches``: ``(lower, upper,
    pairs, iou)`` of every face (:func:`match_face`). Matched objects are joined, best IoU
    first, including through objects of a halo only (not in their block's core), except
    when a join would give one id to two core objects of one block: that block saw them
    whole and apart, so the match is wrong (a neighbour that saw them cut short by its halo
    merged them) and is refused. Ids are numbered in order of each object's first core piece
    (blocks in C order, ids within a block), so they are consecutive and do not depend on the
    order in which blocks were processed.
    """
    order = sorted(grid.indices(), key=grid.linear)
    counts = np.array([n_core[index] for index in order], np.int64)
    offsets = dict(zip(order, np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist()))
    total = int(counts.sum())
    extra: dict[tuple[Index, int], int] = {}

    def nodes(index: Index, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        out = offsets[index] + ids - 1
        for k in np.flatnonzero(ids > n_core[index]):       # objects of the halo only
            out[k] = extra.setdefault((index, int(ids[k])), total + len(extra))
        return out

    edges = [(-float(value), int(a), int(b))
             for lower, upper, pairs, iou in matches
             for a, b, value in zip(nodes(lower, pairs[:, 0]), nodes(upper, pairs[:, 1]), iou)]
    home = np.repeat(np.arange(len(order)), counts)          # block of each core object
    parent = np.arange(total + len(extra))
    blocks: dict[int, set[int]] = {}
    refused = 0

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for _, a, b in sorted(edges):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        sa = blocks.get(ra, {int(home[ra])} if ra < total else set())
        sb = blocks.get(rb, {int(home[rb])} if rb < total else set())
        if sa & sb:
            refused += 1
            continue
        low, high = min(ra, rb), max(ra, rb)
        parent[high] = low
        blocks[low] = sa | sb
    core = np.array([root(node) for node in range(total)], np.int64)
    firsts, first_at = np.unique(core, return_index=True)
    final = np.zeros(int(core.max(initial=0)) + 1, np.uint32)
    final[firsts[np.argsort(first_at)]] = np.arange(1, len(firsts) + 1, dtype=np.uint32)
    tables = {index: np.concatenate([[0], final[core[offsets[index]:offsets[index]
                                                      + n_core[index]]]]).astype(np.uint32)
              for index in order}
    return tables, refused
