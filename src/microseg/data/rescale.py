"""Bring samples to one object size: estimate object diameters, rescale image and labels.

Datasets imaged at different magnifications meet the model at one scale when each is rescaled
so that its median object diameter equals a target diameter (in pixels).
"""
from __future__ import annotations

import numpy as np
from skimage.transform import resize

from microseg.data.sample import Sample
from microseg.errors import InputError


def equivalent_diameters(labels: np.ndarray) -> np.ndarray:
    """Equivalent diameter (pixels) of every object of ``labels`` ``(Y, X)`` or ``(Z, Y, X)``:
    the diameter of the disc (2D) or ball (3D) of the same area / volume
    (:func:`microseg.measure.equivalent_diameter`). Ordered by label id; ids that do not occur
    are skipped."""
    from microseg.measure.moments import equivalent_diameter  # measure pulls numba: load lazily

    labels = np.asarray(labels)
    counts = np.bincount(labels.ravel().astype(np.int64))[1:]
    return equivalent_diameter(counts[counts > 0], labels.ndim)


def median_diameter(labels: list[np.ndarray] | np.ndarray) -> float:
    """Median equivalent diameter (pixels) over all objects of one label image or a list of them;
    ``nan`` when there is no object."""
    arrays = [labels] if isinstance(labels, np.ndarray) else list(labels)
    diameters = np.concatenate([equivalent_diameters(a) for a in arrays]) if arrays else []
    return float(np.median(diameters)) if len(diameters) else float("nan")


def diameter_range(labels: list[np.ndarray], percentiles: tuple[float, float] = (5.0, 95.0)
                   ) -> tuple[float, float] | None:
    """The ``percentiles`` of the per-image median object diameters (pixels) of ``labels``: the
    object sizes a model trained on them has seen often; None when no image has objects."""
    medians = [median_diameter(a) for a in labels]
    medians = [m for m in medians if np.isfinite(m)]
    if not medians:
        return None
    low, high = np.percentile(medians, percentiles)
    return float(low), float(high)


def rescale_sample(sample: Sample, scale: float) -> Sample:
    """``sample`` resampled by ``scale`` along every spatial axis (image linear, labels and ignore
    mask nearest; anti-aliased when shrinking). ``meta["scale"]`` records the accumulated
    factor. ``scale == 1`` returns the sample unchanged."""
    if not np.isfinite(scale) or scale <= 0:
        raise InputError(sample.meta.get("path"), f"sample {sample.name!r}: rescale factor must be "
                                                  f"a positive number, got {scale}")
    if scale == 1:
        return sample
    shape = tuple(max(1, int(round(s * scale))) for s in sample.spatial_shape)
    image = resize(sample.image, (sample.channels, *shape), order=1, mode="reflect",
                   anti_aliasing=scale < 1, preserve_range=True).astype(np.float32)
    labels = resize(sample.labels, shape, order=0, mode="edge", anti_aliasing=False,
                    preserve_range=True).astype(sample.labels.dtype)
    ignore = None
    if sample.ignore is not None:
        ignore = resize(sample.ignore, shape, order=0, mode="edge", anti_aliasing=False,
                        preserve_range=True).astype(bool)
    meta = {**sample.meta, "scale": float(sample.meta.get("scale", 1.0)) * float(scale)}
    return Sample(image=image, labels=labels, name=sample.name, group=sample.group,
                  ignore=ignore, meta=meta)


def scale_to_diameter(samples: list[Sample], diameter: float, per_sample: bool = False
                      ) -> list[Sample]:
    """Rescale ``samples`` so their median object diameter becomes ``diameter`` pixels.

    With ``per_sample=False`` one factor (target / median over all objects of all samples) is
    used for the whole list (one magnification per source); with ``per_sample=True`` each sample
    gets its own factor (mixed magnifications). Samples without objects keep their scale when
    scaled one by one; a list without any object raises :class:`InputError`.
    """
    if not diameter > 0:
        raise InputError(None, f"target diameter must be positive, got {diameter}")
    if per_sample:
        out = []
        for s in samples:
            d = median_diameter(s.labels)
            out.append(s if np.isnan(d) else rescale_sample(s, diameter / d))
        return out
    d = median_diameter([s.labels for s in samples])
    if np.isnan(d):
        path = samples[0].meta.get("path") if samples else None
        raise InputError(path, "cannot rescale to a target diameter: the samples hold no object")
    return [rescale_sample(s, diameter / d) for s in samples]
