"""Division detection: one mother in frame t − 1, two daughters in frame t.

The rule. After the one-to-one links of a frame pair (:func:`~microseg.track.linking.
link_frames`), a mitosis shows up as a mother ``m`` linked to one daughter ``a`` while the other
daughter ``b`` starts a new track. Every such triple with ``b`` within the gate of ``m`` is a
candidate, costed by what a division conserves::

    cost = |c̄ − c_m| / r_m  +  |ln((s_a + s_b) / s_m)|  +  ½ |ln(s_a / s_b)|
           + max(|c_a − c_m|, |c_b − c_m|) / (2 r_m)

with ``c̄ = (s_a c_a + s_b c_b) / (s_a + s_b)`` the daughters' size-weighted centroid (the mother's
centroid when mass is conserved and nothing moves), ``c_m`` and ``r_m`` the mother's centroid and
equivalent radius, ``c_a``, ``c_b`` the daughters' centroids and ``s`` sizes: the daughters
straddle where the mother was, together about as large as she was, of similar size, and each
about a radius from her centre. A new object beside a cell (a cell entering the field, a
spurious fragment) costs more: a whole cell next to another puts ``c̄`` about one radius off,
doubles the size and lies two radii away; a small fragment unbalances the pair. On the GT
markers of Fluo-N2DH-SIM+ 01, 24 of the 28 divisions cost 0.6–1.6 by this rule (the other four,
with very unequal or far-flung daughters, 2.3–5.2) and every other new object near a cell 2.15
or more; hence the default ``division_cost`` of 2. Each new track can have one mother and
each mother one extra daughter; the choice minimises the total cost of the divisions made plus
``division_cost`` for every new track left without a mother (:func:`~microseg.track.assignment.
assign`), so no division costing ``division_cost`` or more is made. The mother's track then ends
at t − 1 and both daughters start tracks whose parent it is. At the end of the sequence a
division is undone when a daughter lasts fewer than ``min_daughter_frames`` frames (a false
split that heals; :func:`undo_short_divisions`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from microseg.track.assignment import assign
from microseg.track.config import TrackConfig
from microseg.track.features import ObjectFeatures
from microseg.track.linking import Links


@dataclass(frozen=True, eq=False)
class Divisions:
    """Divisions between two frames: mother rows ``mother`` ``(m,)`` of the earlier frame's
    features, daughter rows ``daughters`` ``(m, 2)`` of the later frame's, and their ``cost``."""

    mother: np.ndarray
    daughters: np.ndarray
    cost: np.ndarray

    def __len__(self) -> int:
        return int(self.mother.size)


def division_costs(prev: ObjectFeatures, curr: ObjectFeatures, mother: np.ndarray,
                   first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Cost ``(k,)`` of mother rows ``mother`` (``prev``) dividing into daughter rows ``first``
    and ``second`` (``curr``), the formula of the module docstring."""
    s_a, s_b = curr.size[first].astype(np.float64), curr.size[second].astype(np.float64)
    s_m = prev.size[mother].astype(np.float64)
    total = s_a + s_b
    centre = (curr.centroid[first] * s_a[:, None] + curr.centroid[second] * s_b[:, None]) \
        / total[:, None]
    radius = prev.radius[mother]
    offset = np.linalg.norm(centre - prev.centroid[mother], axis=1) / radius
    reach = np.maximum(np.linalg.norm(curr.centroid[first] - prev.centroid[mother], axis=1),
                       np.linalg.norm(curr.centroid[second] - prev.centroid[mother], axis=1))
    return (offset + np.abs(np.log(total / s_m)) + 0.5 * np.abs(np.log(s_a / s_b))
            + reach / (2 * radius))


def find_divisions(prev: ObjectFeatures, curr: ObjectFeatures, links: Links, gate: float,
                   config: TrackConfig) -> Divisions:
    """Divisions among the linked objects of ``prev`` and the unlinked objects of ``curr``
    (see the module docstring); ``gate`` bounds the mother–new-daughter centroid distance."""
    successor = links.successor(len(prev))
    born = np.flatnonzero(links.predecessor(len(curr)) < 0)
    mothers = np.flatnonzero(successor >= 0)
    empty = Divisions(np.zeros(0, np.int64), np.zeros((0, 2), np.int64), np.zeros(0))
    if born.size == 0 or mothers.size == 0:
        return empty
    near = cKDTree(curr.centroid[born]).sparse_distance_matrix(
        cKDTree(prev.centroid[mothers]), gate, output_type="ndarray")
    b, m = near["i"].astype(np.int64), near["j"].astype(np.int64)
    costs = division_costs(prev, curr, mothers[m], successor[mothers[m]], born[b])
    rows, cols = assign(born.size, mothers.size, b, m, costs, config.division_cost, 0.0)
    if rows.size == 0:
        return empty
    keys = b * mothers.size + m
    order = np.argsort(keys)
    chosen = costs[order[np.searchsorted(keys[order], rows * mothers.size + cols)]]
    mother = mothers[cols]
    daughters = np.stack([successor[mother], born[rows]], axis=1)
    return Divisions(mother, daughters, chosen)


def undo_short_divisions(identities: list[np.ndarray], parents: dict[int, int],
                         divisions: list[tuple[int, int, int]],
                         min_frames: int) -> tuple[list[np.ndarray], dict[int, int], int]:
    """Undo the divisions whose daughters do not last: a false split of one cell into two
    objects, healed a frame later, looks like a division at the frame it happens.

    ``identities[t]`` holds the identity of every object of frame ``t``, ``parents`` maps a
    daughter's identity to her mother's, ``divisions`` lists ``(mother, daughter, daughter)``
    identities in the order they happened. A division is undone when a daughter is present in
    fewer than ``min_frames`` frames, does not divide herself and does not reach the last frame
    (where her fate is unknown): the mother then continues as the longer-lived daughter (her
    identity takes the mother's), and the other one becomes a track without a parent. Returns the
    new identities, parents and the number of divisions undone.
    """
    if min_frames <= 1 or not divisions:
        return identities, parents, 0
    lifetime = np.bincount(np.concatenate(identities))
    at_end = set(identities[-1].tolist())
    mothers = set(parents.values())
    parents = dict(parents)
    rename: dict[int, int] = {}
    for mother, a, b in divisions:
        if not any(lifetime[d] < min_frames and d not in at_end and d not in mothers
                   for d in (a, b)):
            continue
        keep = a if lifetime[a] >= lifetime[b] else b
        root = rename.get(mother, mother)
        rename[keep] = root
        del parents[a], parents[b]
        parents = {child: (root if p == keep else p) for child, p in parents.items()}
    if not rename:
        return identities, parents, 0
    lut = np.arange(lifetime.size, dtype=np.int64)
    lut[list(rename)] = list(rename.values())
    return [lut[i] for i in identities], parents, len(rename)
