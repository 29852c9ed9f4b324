"""Tiny synthetic label images for the metric tests (GT blobs and a perturbed prediction) and an
independent, deliberately plain object matcher to check the package's matching against."""
import numpy as np
import pytest


def _blobs(shape, centres, radii, ids):
    grids = np.indices(shape)
    labels = np.zeros(shape, np.uint16)
    for centre, radius, label in zip(centres, radii, ids):
        d2 = sum((g - c) ** 2 for g, c in zip(grids, centre))
        labels[(d2 <= radius ** 2) & (labels == 0)] = label
    return labels


def _pair(rng, shape=(64, 80), n=12, drop=0.15, extra=2, jitter=1.5):
    """GT of ``n`` blobs and a prediction with moved/resized blobs, some dropped, some spurious,
    and non-contiguous predicted ids."""
    shape = tuple(shape)
    centres = rng.uniform(4, np.array(shape) - 4, size=(n, len(shape)))
    radii = rng.uniform(3, 7, size=n)
    gt = _blobs(shape, centres, radii, range(1, n + 1))
    keep = rng.random(n) > drop
    p_centres = centres[keep] + rng.normal(0, jitter, size=(keep.sum(), len(shape)))
    p_radii = radii[keep] * rng.uniform(0.8, 1.2, size=keep.sum())
    p_centres = np.vstack([p_centres, rng.uniform(4, np.array(shape) - 4, (extra, len(shape)))])
    p_radii = np.r_[p_radii, rng.uniform(2, 5, extra)]
    ids = rng.permutation(np.arange(1, len(p_radii) + 1)) * 7 + 3
    return gt, _blobs(shape, p_centres, p_radii, ids)


@pytest.fixture
def label_pair():
    """``label_pair(seed, shape=..., n=...) -> (gt, pred)``."""
    return lambda seed, **kwargs: _pair(np.random.default_rng(seed), **kwargs)


@pytest.fixture
def blobs():
    """``blobs(shape, centres, radii, ids) -> labels`` (earlier blobs win where they overlap)."""
    return _blobs


def _greedy_unique(gt, pred, threshold):
    """For every GT object take the predicted object of highest IoU (one mask comparison per
    pair) and keep it when IoU ≥ threshold; unique above 0.5, where no predicted object can serve
    two GT objects. Returns ``[(gt id, pred id, iou)]``."""
    pairs = []
    for g in np.unique(gt[gt > 0]):
        mask = gt == g
        best, best_iou = None, 0.0
        for p in np.unique(pred[mask & (pred > 0)]):
            other = pred == p
            iou = np.sum(mask & other) / np.sum(mask | other)
            if iou > best_iou:
                best, best_iou = p, iou
        if best is not None and best_iou >= threshold:
            pairs.append((int(g), int(best), best_iou))
    return pairs


@pytest.fixture
def greedy_matches():
    """``greedy_matches(gt, pred, threshold) -> [(gt id, pred id, iou)]`` (thresholds ≥ 0.5)."""
    return _greedy_unique
