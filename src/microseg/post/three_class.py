"""3-class maps (0 background / 1 boundary / 2 cell) → instances, as in XB-Net
(004_a42a17ce25b44d71.txt): connected components of the cell class, then clean-up.

Touching cells whose boundary the network leaves weak merge into one component of the argmax.
Given probabilities, ``seed_threshold`` splits them instead: the seeds are the connected
components of the confident interior (cell probability above ``seed_threshold``), and each
pixel of the cell mask (probability above ``cell_threshold``) joins the nearest seed through the
mask; mask components that hold no seed are dropped as unconfident.

``min_confidence`` drops the starting points (argmax components, or seeds) whose highest cell
probability stays below it, so that faint, uncertain blobs are not reported as cells; a dropped
seed's pixels may still join a confident neighbour through the mask.

Seeds everywhere also split single nuclei that are large and textured. ``split_above`` splits
only the argmax components that are outliers in size for their image (more than that many times
the median component: merged neighbours), keeping the rest whole. Which choice suits a model is
tuned on its validation data (``microseg tune``) and recorded with it; the bundled models' cards
give the settings and their figures.

The boundary class has two parts in the XB-Net target (:class:`~microseg.targets.ThreeClass`):
a band of background, ``dilation`` pixels wide, around every cell, and the rim of a cell where it
touches another cell. Growing cells into *all* boundary pixels would add the band, so
:func:`three_class_to_instances` grows them only into boundary pixels that lie near another cell's
territory (between touching cells) and farther than the band width from the background class
(every pixel of a true cell is), which gives touching cells their shared rim back and leaves lone
cells as they are.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from microseg.errors import ConfigError, InputError
from microseg.post.cleanup import finalize_labels
from microseg.post.geodesic import geodesic_territory, touches_other_label
from microseg.post.label_kernels import (above_in, keep_labels, label_peaks, label_sizes,
                                        lookup, owners, replace_where)
from microseg.targets.neighbourhood import cross
from microseg.targets.three_class import BOUNDARY, CELL, default_dilation


def three_class_to_instances(probs_or_classes: np.ndarray, *, grow: bool = True,
                             contact_radius: int = 2, band: int | None = None,
                             min_size: int = 10, fill_holes: bool = True,
                             seed_threshold: float | None = None,
                             cell_threshold: float = 0.5,
                             min_confidence: float | None = None,
                             split_above: float | None = None) -> np.ndarray:
    """Instance labels from 3-class probabilities or a class map, 2D or 3D.

    Args:
        probs_or_classes: float probabilities (or logits, without ``seed_threshold``)
            ``(3, Y, X)`` / ``(3, Z, Y, X)``, of which the argmax is taken, or an integer class map ``(Y, X)`` / ``(Z, Y, X)`` with
            values 0 (background), 1 (boundary), 2 (cell).
        grow: give boundary pixels to the nearest cell (city-block geodesic distance through
            the boundary class, :func:`~microseg.post.geodesic.geodesic_territory`) when they
            lie within ``contact_radius`` pixels (box neighbourhood) of another cell's territory, i.e. between touching cells, and
            more than ``band`` pixels (city-block) from the background class.
        contact_radius: half-width of that neighbourhood; the target's ``erosion`` (2) matches.
        band: width of the background band of the target, its ``dilation``; ``None`` takes the
            target's default, 2 for ``(Y, X)`` and 5 for ``(Z, Y, X)``.
        min_size: objects with fewer pixels (voxels) are removed.
        fill_holes: fill background enclosed by a single object.
        seed_threshold: ``None``: cells are the connected components of the argmax cell class.
            A probability in (0, 1) (needs probabilities, not a class map): cells grow from the
            components where the cell probability exceeds it, through the pixels where it
            exceeds ``cell_threshold`` (see the module doc).
        cell_threshold: the cell probability above which a pixel can join a seed; at most
            ``seed_threshold``.
        min_confidence: ``None`` keeps every object; a probability: cells (or, with
            ``seed_threshold``, seeds) whose highest cell probability is below it are dropped
            (needs probabilities).
        split_above: with ``seed_threshold``: split at seeds only the argmax components larger
            than this many times the image's median component (merged neighbours are outliers
            in size), keeping the others whole; ``None`` splits every component. No effect
            without ``seed_threshold`` (so that one tuning grid can hold both).
    Returns:
        Consecutive labels, uint16 (uint32 when needed), 0 = background.
    """
    if seed_threshold is None and min_confidence is None:
        classes = _classes(probs_or_classes)
        markers, _ = ndi.label(classes == CELL)
    else:
        probs = _probabilities(probs_or_classes)
        needs_classes = grow or seed_threshold is None or split_above is not None
        classes = argmax3(probs) if needs_classes else None
        if seed_threshold is None:
            markers, _ = ndi.label(classes == CELL)
            markers = _confident(markers, probs[CELL], min_confidence)
        elif split_above is None:
            markers = _seeded_cells(probs, seed_threshold, cell_threshold, min_confidence)
        else:
            markers = _split_large(probs, classes, seed_threshold, min_confidence, split_above)
    cells = markers > 0
    labels = markers
    if grow and contact_radius > 0:
        foreground = classes > 0
        territory = geodesic_territory(markers, foreground)
        band = band if band is not None else default_dilation(classes.ndim)
        inner = foreground if band <= 0 else ndi.binary_erosion(
            foreground, cross(classes.ndim), iterations=band, border_value=1)
        contact = touches_other_label(territory, inner & (classes == BOUNDARY), contact_radius)
        labels = np.where(cells | contact, territory, 0)
    return finalize_labels(labels, min_size=min_size, fill=fill_holes)


def _seeded_cells(probs: np.ndarray, seed_threshold: float, cell_threshold: float,
                  min_confidence: float | None) -> np.ndarray:
    """Labels of the cell mask ``probs[CELL] > cell_threshold`` grown from the seeds
    ``probs[CELL] > seed_threshold`` (geodesic, city-block) that reach ``min_confidence``;
    unseeded mask pixels are 0."""
    if not 0.0 < cell_threshold <= seed_threshold < 1.0:
        raise ConfigError(f"three_class needs 0 < cell_threshold <= seed_threshold < 1, got "
                          f"cell_threshold={cell_threshold}, seed_threshold={seed_threshold}")
    cell = probs[CELL]
    seeds, _ = ndi.label(cell > seed_threshold)
    if min_confidence is not None:
        seeds = _confident(seeds, cell, min_confidence)
    mask = cell > cell_threshold
    return np.where(mask, geodesic_territory(seeds, mask), 0)


def _split_large(probs: np.ndarray, classes: np.ndarray, seed_threshold: float,
                 min_confidence: float | None, split_above: float) -> np.ndarray:
    """Components of the argmax cell class (those reaching ``min_confidence``); each one larger
    than ``split_above`` × their median size that holds two or more seeds (cell probability
    above ``seed_threshold``) is shared among its seeds (geodesic, city-block)."""
    if not 0.0 < seed_threshold < 1.0 or not split_above > 0:
        raise ConfigError(f"three_class needs 0 < seed_threshold < 1 and split_above > 0, got "
                          f"seed_threshold={seed_threshold}, split_above={split_above}")
    cell = np.ascontiguousarray(probs[CELL], np.float32)
    whole, n_whole = ndi.label(classes == CELL)
    if min_confidence is not None:
        whole = _confident(whole, cell, min_confidence)
    flat = whole.ravel()
    sizes = label_sizes(flat, n_whole + 1)
    present = sizes[1:][sizes[1:] > 0]
    if not present.size:
        return whole
    large = sizes > split_above * float(np.median(present))
    large[0] = False
    seeds, n_seeds = ndi.label(above_in(cell.ravel(), seed_threshold, flat, large)
                               .reshape(whole.shape))
    if min_confidence is not None:
        seeds = _confident(seeds, cell, min_confidence)
    owner = owners(seeds.ravel(), flat, n_seeds + 1)
    split = label_sizes(owner[1:], n_whole + 1) >= 2
    split[0] = False                                     # seeds dropped above have owner 0
    if not split.any():
        return whole
    region = lookup(flat, split).reshape(whole.shape)
    markers = keep_labels(seeds, lookup(owner, split))
    parts = geodesic_territory(markers, region)          # > 0 all over region
    return replace_where(flat, region.ravel(), parts.ravel(), n_whole).reshape(whole.shape)


def _confident(markers: np.ndarray, cell: np.ndarray, min_confidence: float) -> np.ndarray:
    """``markers`` without the labels whose highest ``cell`` probability is below
    ``min_confidence``."""
    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"three_class min_confidence must be a probability, got "
                          f"{min_confidence}")
    markers = np.ascontiguousarray(markers)
    peak = label_peaks(markers.ravel(), np.ascontiguousarray(cell, np.float32).ravel(),
                       int(markers.max()) + 1)
    keep = peak >= min_confidence
    keep[0] = False
    return keep_labels(markers, keep)


def argmax3(probs: np.ndarray) -> np.ndarray:
    """``np.argmax(probs, axis=0)`` of ``(3, *spatial)`` maps as uint8, ties to the lower class,
    in three element-wise passes (a strided argmax over the first axis is several times slower,
    and was the largest step of this post-processing)."""
    classes = (probs[BOUNDARY] > probs[0]).astype(np.uint8)
    classes[probs[CELL] > np.maximum(probs[0], probs[BOUNDARY])] = CELL
    return classes


def _probabilities(array: np.ndarray) -> np.ndarray:
    """Checked float probabilities ``(3, *spatial)``."""
    array = np.asarray(array)
    if array.dtype.kind != "f":
        raise InputError(None, f"seed_threshold and min_confidence need 3-class probabilities, "
                               f"got a class map of dtype {array.dtype}")
    if array.ndim not in (3, 4) or array.shape[0] != 3:
        raise InputError(None, f"3-class probabilities must be (3, Y, X) or (3, Z, Y, X), "
                               f"got shape {array.shape}")
    return array


def _classes(array: np.ndarray) -> np.ndarray:
    """Class map from probabilities ``(3, *spatial)`` (float) or a class map (integers)."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        return argmax3(_probabilities(array))
    if array.dtype.kind not in "iu":
        raise InputError(None, f"a 3-class map must hold integers or float probabilities, "
                               f"got dtype {array.dtype}")
    if array.ndim not in (2, 3):
        raise InputError(None, f"a 3-class map must be (Y, X) or (Z, Y, X), got shape "
                               f"{array.shape}")
    if array.size and (array.min() < 0 or array.max() > CELL):
        raise InputError(None, f"a 3-class map holds 0, 1, 2 only, found values "
                               f"{array.min()}..{array.max()}")
    return array
