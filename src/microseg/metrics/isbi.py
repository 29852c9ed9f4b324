"""ISBI 2012 EM segmentation scores: foreground-restricted Rand and information-theoretic
F-scores (V_rand, V_info; Arganda-Carreras et al. 2015), and their "thinned" maxima over a sweep
of thresholds of a membrane probability map.

Definitions (as in the challenge's Fiji scripts, N² normalisation). Only pixels inside GT objects
(``gt > 0``; 0 is membrane) are counted, n of them. ``p_ij`` is the fraction of them in GT object
i and predicted object j; a counted pixel with ``pred == 0`` (a predicted boundary pixel) is its
own singleton segment. With ``t_i`` / ``s_j`` the GT / predicted segment fractions:

* V_rand = 2 Σ p_ij² / (Σ t_i² + Σ s_j²); split score Σ p_ij² / Σ t_i², merge score
  Σ p_ij² / Σ s_j².
* V_info = 2 I(S; T) / (H(S) + H(T)); split score I / H(S), merge score I / H(T) (S = prediction,
  T = ground truth). Two single-segment partitions (H(S) = H(T) = 0) score 1.

Both are 1 for a perfect segmentation, and NaN when the GT has no foreground pixel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy import ndimage as ndi

from microseg.errors import InputError
from microseg.metrics.overlap import Overlap, check_pair, overlap_table
from microseg.metrics.scores import nanmean

#: Membrane-probability thresholds swept by :func:`vrand_vinfo_thinned` by default.
DEFAULT_THRESHOLDS = np.round(np.arange(0.1, 1.0, 0.1), 2)


@dataclass(frozen=True)
class RandInfo:
    """V_rand and V_info with their split / merge components (see the module docstring)."""

    v_rand: float
    v_info: float
    rand_split: float
    rand_merge: float
    info_split: float
    info_merge: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def vrand_vinfo(gt: np.ndarray, pred: np.ndarray, per_slice: bool = False) -> RandInfo:
    """Foreground-restricted V_rand / V_info of predicted labels against GT labels.

    ``gt`` and ``pred`` are label images of one shape; ``gt == 0`` (membrane) is excluded and
    ``pred == 0`` inside GT objects counts as singleton segments. With ``per_slice=True`` a
    ``(Z, Y, X)`` stack is scored slice by slice and the scores averaged (the ISBI 2012 protocol
    for its 2D-annotated stack); otherwise all pixels are pooled (2D, or 3D segments).

    >>> gt = np.array([[1, 1, 0, 2, 2]])
    >>> r = vrand_vinfo(gt, np.array([[4, 4, 4, 4, 4]]))   # both cells merged into one
    >>> round(r.v_rand, 4), round(r.rand_split, 4), round(r.rand_merge, 4), r.v_info
    (0.6667, 1.0, 0.5, 0.0)
    """
    gt, pred = check_pair(gt, pred)
    if not per_slice or gt.ndim == 2:
        return vrand_vinfo_overlap(overlap_table(gt, pred))
    if gt.ndim != 3:
        raise InputError(None, f"per-slice scores need a (Z, Y, X) stack, got shape {gt.shape}")
    return _mean_scores([vrand_vinfo_overlap(overlap_table(g, p)) for g, p in zip(gt, pred)])


def vrand_vinfo_overlap(table: Overlap) -> RandInfo:
    """:func:`vrand_vinfo` on a precomputed overlap table (all pixels pooled)."""
    n = float(table.gt_sizes.sum())
    if n == 0:
        nan = float("nan")
        return RandInfo(nan, nan, nan, nan, nan, nan)
    singletons = float(table.gt_on_background.sum())
    t = table.gt_sizes / n                                    # GT segments (inside GT foreground)
    s = np.bincount(table.cols, weights=table.counts, minlength=table.n_pred) / n
    s = s[s > 0]                                             # predicted segments, restricted
    p = table.counts / n                                     # joint, object pairs
    # each singleton pixel adds (1/n)² to Σs² and Σp², and -(1/n)·log(1/n) to H(S) and H(S, T)
    sum_t2 = float(t @ t)
    sum_s2 = float(s @ s) + singletons / n ** 2
    sum_p2 = float(p @ p) + singletons / n ** 2
    rand_split, rand_merge = sum_p2 / sum_t2, sum_p2 / sum_s2
    v_rand = 2.0 * sum_p2 / (sum_t2 + sum_s2)

    singleton_entropy = singletons / n * np.log(n)
    h_t = _entropy(t)
    h_s = _entropy(s) + singleton_entropy
    h_st = _entropy(p) + singleton_entropy
    info = max(h_s + h_t - h_st, 0.0)
    if h_s + h_t <= 1e-12:
        v_info = info_split = info_merge = 1.0
    else:
        v_info = 2.0 * info / (h_s + h_t)
        info_split = info / h_s if h_s > 0 else 0.0
        info_merge = info / h_t if h_t > 0 else 0.0
    return RandInfo(v_rand=v_rand, v_info=float(v_info), rand_split=rand_split,
                    rand_merge=rand_merge, info_split=float(info_split),
                    info_merge=float(info_merge))


@dataclass(frozen=True, eq=False)
class ThinnedScores:
    """V_rand / V_info after boundary thinning at each threshold, and their maxima."""

    thresholds: np.ndarray
    v_rand: np.ndarray
    v_info: np.ndarray

    @property
    def best_v_rand(self) -> float:
        return float(np.nanmax(self.v_rand))

    @property
    def best_v_info(self) -> float:
        return float(np.nanmax(self.v_info))

    @property
    def best_threshold_rand(self) -> float:
        return float(self.thresholds[int(np.nanargmax(self.v_rand))])

    @property
    def best_threshold_info(self) -> float:
        return float(self.thresholds[int(np.nanargmax(self.v_info))])

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": self.thresholds.tolist(), "v_rand": self.v_rand.tolist(),
                "v_info": self.v_info.tolist(), "best_v_rand": self.best_v_rand,
                "best_v_info": self.best_v_info, "best_threshold_rand": self.best_threshold_rand,
                "best_threshold_info": self.best_threshold_info}


def thinned_segmentation(membrane: np.ndarray) -> np.ndarray:
    """Label the regions enclosed by a binary membrane mask ``(Y, X)`` with the membrane thinned
    to 1-pixel-wide lines (label 0).

    The regions (4-connected components of ``~membrane``) grow over the membrane in order of
    distance from it (watershed of the membrane's distance transform) until they meet; the pixels
    where two regions meet form the thinned line. As in the challenge's Fiji script (a watershed
    of the binary proposal), membrane that separates nothing — isolated specks, dangling spurs —
    disappears, and lines stay centred in thick membranes and reach the image edge.
    """
    from skimage.segmentation import watershed

    membrane = np.asarray(membrane, dtype=bool)
    if membrane.ndim != 2:
        raise InputError(None, f"membrane mask must be 2D (Y, X), got shape {membrane.shape}")
    regions, n = ndi.label(~membrane)
    if n == 0 or not membrane.any():
        return regions
    depth = ndi.distance_transform_edt(membrane)
    return watershed(depth, markers=regions, connectivity=1, watershed_line=True)


def vrand_vinfo_thinned(prob: np.ndarray, gt: np.ndarray,
                        thresholds: Sequence[float] | np.ndarray = DEFAULT_THRESHOLDS
                        ) -> ThinnedScores:
    """ISBI 2012 V_rand(thinned) and V_info(thinned) of a membrane probability map.

    ``prob`` ``(Y, X)`` or ``(Z, Y, X)`` is the probability of membrane (in [0, 1]); ``gt`` the
    GT labels of the same shape (0 = membrane; label a binary ISBI mask first, e.g. with
    ``microseg.io.isbi.membrane_to_instances``). At every threshold t the membrane
    ``prob > t`` is thinned and the enclosed regions labelled (:func:`thinned_segmentation`),
    then scored per 2D slice with :func:`vrand_vinfo` and averaged over slices. The challenge
    reports the maxima over thresholds (``best_v_rand``, ``best_v_info``).
    """
    prob = np.asarray(prob, dtype=float)
    gt = np.asarray(gt)
    if prob.shape != gt.shape:
        raise InputError(None, f"probability map shape {prob.shape} does not match the ground "
                               f"truth shape {gt.shape}")
    if prob.ndim not in (2, 3):
        raise InputError(None, f"expected (Y, X) or (Z, Y, X) arrays, got shape {prob.shape}")
    if not np.all(np.isfinite(prob)) or prob.min() < 0 or prob.max() > 1:
        raise InputError(None, "membrane probabilities must be finite values in [0, 1]")
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if thresholds.size == 0:
        raise InputError(None, "no thresholds given")
    stack_prob = prob[None] if prob.ndim == 2 else prob
    stack_gt = gt[None] if gt.ndim == 2 else gt
    v_rand, v_info = np.zeros(thresholds.size), np.zeros(thresholds.size)
    for k, t in enumerate(thresholds):
        scores = [vrand_vinfo_overlap(overlap_table(g, thinned_segmentation(p > t)))
                  for p, g in zip(stack_prob, stack_gt)]
        mean = _mean_scores(scores)
        v_rand[k], v_info[k] = mean.v_rand, mean.v_info
    return ThinnedScores(thresholds=thresholds, v_rand=v_rand, v_info=v_info)


def combine_rand_info(scores: Sequence[RandInfo]) -> RandInfo:
    """Mean of each score over images (ISBI averages its per-slice scores), skipping NaN."""
    return _mean_scores(list(scores))


def _mean_scores(scores: list[RandInfo]) -> RandInfo:
    if not scores:
        raise InputError(None, "no scores to average")
    return RandInfo(**{name: nanmean(getattr(s, name) for s in scores)
                       for name in RandInfo.__dataclass_fields__})


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())
