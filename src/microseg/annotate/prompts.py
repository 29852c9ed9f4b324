"""Prompt-based annotation of a 2D image: points and boxes → objects, with a microseg model.

>>> annotator = PromptAnnotator(image, model="default")              # doctest: +SKIP
>>> labels = annotator.points([(40, 52), (80, 31)], negative=[(60, 60)])   # doctest: +SKIP
>>> mask = annotator.box((30, 40, 55, 66))                            # doctest: +SKIP

``points``: the model's maps for the whole image are computed once (as SAM computes its image
embedding once), then every prompt is a seeded watershed on them
(:func:`~microseg.post.prompted.prompted_objects`; the model's own objects that no point touches
compete for pixels). ``box``: the box's crop (with a margin) is segmented at the scale the box
gives — its mean side taken as the object's diameter — and the object that best fills the box
is kept, within the box. The protoplast study made its training set this way with SAM in napari
(002_b48028eca5347a5f.txt, section 4.1); :class:`SamAnnotator` offers SAM itself behind the same
two methods. Brush fixes and committing objects: :mod:`microseg.annotate.edit`.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

from microseg.errors import ConfigError, InputError

#: Margin around a box prompt's crop, as a fraction of the box's mean side.
BOX_MARGIN = 0.5
Points = Sequence[Sequence[float]] | np.ndarray
Box = Sequence[float]


class Prompter(Protocol):
    """What the annotation widgets need of a backend: objects from points, an object from a
    box. Coordinates are pixels ``(y, x)``; boxes ``(y0, x0, y1, x1)``, half-open."""

    def points(self, positive: Points, negative: Points = (),
               ids: Sequence[int] | None = None) -> np.ndarray: ...

    def box(self, box: Box) -> np.ndarray: ...


class PromptAnnotator:
    """Points and boxes → objects on ``image`` (``(Y, X)``, ``(Y, X, RGB)`` or channels along
    ``channel_axis``) with a microseg ``model`` (name, checkpoint or
    :class:`~microseg.infer.Predictor`). ``diameter``: the typical object diameter in the image
    (pixels) for the maps of point prompts (default: the model's scale); ``tta``: test-time
    augmentation of those maps; ``threshold``: foreground probability of an object's pixels."""

    def __init__(self, image: np.ndarray, model: Any = "default", *,
                 channel_axis: int | None = None, diameter: float | None = None,
                 tta: str | None = None, threshold: float = 0.5):
        from microseg.pipelines.model import load_model

        self.image = np.asarray(image)
        self.predictor = load_model(model)
        if self.predictor.mode(self.image, channel_axis) != "2d":
            raise InputError(None, f"prompts work on 2D images, got shape {self.image.shape}")
        self.channel_axis, self.diameter, self.tta = channel_axis, diameter, tta
        self.threshold = threshold
        self.shape = image_shape(self.image, channel_axis)
        self._input: tuple[np.ndarray, bool] | None = None
        self._maps: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def network_input(self) -> tuple[np.ndarray, bool]:
        """The image normalised for the network ``(C, Y, X)`` and whether its bright background
        was inverted (:meth:`~microseg.infer.Predictor.prepare`), computed on first use: box
        crops are normalised as part of the whole image, not on their own."""
        if self._input is None:
            self._input = self.predictor.prepare(self.image, channel_axis=self.channel_axis)
        return self._input

    def maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(foreground, interior, instances)`` of the whole image, computed on first use:
        the model's probabilities and its own objects (its usual post-processing)."""
        if self._maps is None:
            from microseg.pipelines.cells import maps_to_labels

            x, inverted = self.network_input()
            prediction = self.predictor.prediction_of_input(x, diameter=self.diameter,
                                                            tta=self.tta)
            foreground, interior = foreground_interior(prediction.maps)
            instances = maps_to_labels(prediction.maps, self.predictor,
                                       bright_background=inverted)
            self._maps = foreground, interior, instances
        return self._maps

    def typical_radius(self) -> float:
        """Half the typical object diameter in the image (pixels): ``diameter``, else the
        model's training diameter at the scale it runs at, else 5."""
        if self.diameter is not None:
            return self.diameter / 2
        trained = self.predictor.meta.object_diameter
        return trained / self.predictor.scale_factor() / 2 if trained else 5.0

    def points(self, positive: Points, negative: Points = (),
               ids: Sequence[int] | None = None) -> np.ndarray:
        """Labels ``(Y, X)``: the object under each positive point (id ``ids[k]``, default
        ``k + 1``), none over the negative points (:func:`~microseg.post.prompted.
        prompted_objects`; a point on what the model calls background gets a disc of the
        typical size)."""
        from microseg.post.prompted import prompted_objects

        foreground, interior, instances = self.maps()
        return prompted_objects(foreground, interior, positive, negative, ids=ids,
                                others=instances, threshold=self.threshold,
                                fallback_radius=self.typical_radius())

    def box(self, box: Box) -> np.ndarray:
        """Boolean mask ``(Y, X)`` of the object in ``box`` ``(y0, x0, y1, x1)``: the crop
        around it (:data:`BOX_MARGIN`) segmented at the box's scale, and of its objects the one
        with the highest IoU with the box (empty when none overlaps it), cut at the box (a box
        bounds its object: what reaches beyond it is a neighbour the model did not split
        off)."""
        from microseg.pipelines.cells import maps_to_labels

        (y0, x0, y1, x1), (crop_y, crop_x) = box_crop(box, self.shape)
        x, inverted = self.network_input()
        prediction = self.predictor.prediction_of_input(
            x[:, crop_y, crop_x], diameter=((y1 - y0) + (x1 - x0)) / 2, tta=self.tta)
        labels = maps_to_labels(prediction.maps, self.predictor, bright_background=inverted)
        inside = np.zeros(labels.shape, bool)
        inside[y0 - crop_y.start:y1 - crop_y.start, x0 - crop_x.start:x1 - crop_x.start] = True
        mask = np.zeros(self.shape, bool)
        mask[crop_y, crop_x] = best_box_object(labels, inside) & inside
        return mask

    def boxes(self, boxes: Sequence[Box]) -> np.ndarray:
        """Labels ``(Y, X)``: the object of box ``k`` as id ``k + 1`` (:meth:`box`; a pixel
        claimed by two keeps the first)."""
        return stack_masks([self.box(b) for b in boxes], self.shape)


class SamAnnotator:
    """Points and boxes → objects on ``image`` with Segment Anything (``pip install
    segment-anything``) and the weights the user gives: ``checkpoint``, a SAM state dict file
    (read with ``weights_only``: it cannot run code), of the registry's ``model_type``
    (``vit_b``, ``vit_l``, ``vit_h``). Nothing is downloaded. ``checkpoint=None`` keeps the
    random initialisation (for tests of the plumbing only). The image is embedded once, when
    the object is made."""

    def __init__(self, image: np.ndarray, checkpoint: str | None, model_type: str = "vit_b", *,
                 channel_axis: int | None = None):
        import torch

        from microseg.config import check_choice
        from microseg.models.checkpoint import read_state_dict

        try:
            from segment_anything import SamPredictor, sam_model_registry
        except ImportError:
            raise ConfigError("the SAM backend needs segment-anything: pip install "
                              "segment-anything") from None
        check_choice("model_type", model_type, sorted(k for k in sam_model_registry
                                                      if k != "default"))
        sam = sam_model_registry[model_type](checkpoint=None)
        if checkpoint is not None:
            try:
                sam.load_state_dict(read_state_dict(checkpoint))
            except RuntimeError as exc:          # names or shapes of another model
                raise InputError(checkpoint, f"not the weights of SAM {model_type} "
                                             f"({str(exc).splitlines()[0][:200]})") from None
        self.image = np.asarray(image)
        self.shape = image_shape(self.image, channel_axis)
        self.predictor = SamPredictor(sam.eval())
        with torch.inference_mode():
            self.predictor.set_image(sam_rgb(self.image, channel_axis))

    def _mask(self, points: np.ndarray, point_labels: np.ndarray,
              box: np.ndarray | None = None) -> np.ndarray:
        import torch

        with torch.inference_mode():
            masks, _, _ = self.predictor.predict(
                point_coords=points[:, ::-1].astype(np.float32) if len(points) else None,
                point_labels=point_labels if len(points) else None, box=box,
                multimask_output=False)
        return np.asarray(masks[0], bool)

    def points(self, positive: Points, negative: Points = (),
               ids: Sequence[int] | None = None) -> np.ndarray:
        """Labels ``(Y, X)``: one SAM mask per object id (its positive points and every
        negative point as the prompt), ids as in :meth:`PromptAnnotator.points`."""
        from microseg.post.prompted import prompt_pixels

        positive = prompt_pixels(positive, self.shape, "positive")
        negative = prompt_pixels(negative, self.shape, "negative")
        ids = np.arange(1, len(positive) + 1) if ids is None else np.asarray(ids, np.int64)
        labels = np.zeros(self.shape, np.uint16 if ids.max(initial=0) < 2**16 else np.uint32)
        for label in dict.fromkeys(ids.tolist()):
            points = np.concatenate([positive[ids == label], negative])
            kinds = np.r_[np.ones(int((ids == label).sum())), np.zeros(len(negative))]
            mask = self._mask(points, kinds.astype(np.int64))
            labels[mask & (labels == 0)] = label
        return labels

    def box(self, box: Box) -> np.ndarray:
        """Boolean mask ``(Y, X)`` SAM gives for ``box`` ``(y0, x0, y1, x1)``."""
        (y0, x0, y1, x1), _ = box_crop(box, self.shape)
        return self._mask(np.zeros((0, 2)), np.zeros(0, np.int64),
                          np.array([x0, y0, x1, y1], np.float32))

    def boxes(self, boxes: Sequence[Box]) -> np.ndarray:
        """Labels ``(Y, X)``: box ``k``'s mask as id ``k + 1`` (:func:`stack_masks`)."""
        return stack_masks([self.box(b) for b in boxes], self.shape)


def sam_rgb(image: np.ndarray, channel_axis: int | None = None) -> np.ndarray:
    """``image`` as SAM takes it: ``(Y, X, 3)`` uint8, percentile-normalised (1–99.8 %); grey
    (or a first channel of other than three) replicated."""
    from microseg.preprocess.normalize import normalize_percentile

    if channel_axis is not None:
        image = np.moveaxis(image, channel_axis, -1)
    if image.ndim == 3:
        image = image[..., :3] if image.shape[-1] >= 3 else image[..., 0]
    scaled = np.round(normalize_percentile(image, clip=True) * 255).astype(np.uint8)
    return np.repeat(scaled[..., None], 3, axis=-1) if scaled.ndim == 2 else scaled


def image_shape(image: np.ndarray, channel_axis: int | None = None) -> tuple[int, int]:
    """``(Y, X)`` of a 2D image ``(Y, X)``, ``(Y, X, RGB)`` or with channels along
    ``channel_axis``."""
    if channel_axis is not None:
        return tuple(n for a, n in enumerate(image.shape) if a != channel_axis % image.ndim)
    return image.shape[:2]


def foreground_interior(maps: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(foreground, interior)`` probabilities ``(Y, X)`` from a model's maps: the interior
    class of 3-class maps (background / boundary / interior) for both (the boundary class holds
    a band of background around every object, so ``1 − P(background)`` would make objects
    larger than they are), the one map of a one-map output (foreground probability). Other
    outputs raise :class:`ConfigError`."""
    if isinstance(maps, dict) or np.ndim(maps) != 3 or np.shape(maps)[0] not in (1, 3):
        shapes = {k: np.shape(v) for k, v in maps.items()} if isinstance(maps, dict) \
            else np.shape(maps)
        raise ConfigError(f"prompts need a model with 3-class or one-map 2D output, got maps "
                          f"{shapes}")
    return maps[-1], maps[-1]


def box_crop(box: Box, shape: tuple[int, int]) -> tuple[tuple[int, int, int, int],
                                                         tuple[slice, slice]]:
    """The box ``(y0, x0, y1, x1)`` as integer pixels inside ``shape`` (InputError when it is
    empty there) and the slices of its crop, :data:`BOX_MARGIN` × its mean side larger each
    way."""
    if len(box) != 4:
        raise InputError(None, f"a box is (y0, x0, y1, x1), got {tuple(box)}")
    y0, x0, y1, x1 = (int(round(v)) for v in box)
    y0, y1 = sorted((y0, y1))
    x0, x1 = sorted((x0, x1))
    y0, x0 = max(y0, 0), max(x0, 0)
    y1, x1 = min(y1, shape[0]), min(x1, shape[1])
    if y1 - y0 < 2 or x1 - x0 < 2:
        raise InputError(None, f"box {tuple(box)} covers less than 2 × 2 pixels of the image "
                               f"of shape {shape}")
    margin = int(np.ceil(BOX_MARGIN * ((y1 - y0) + (x1 - x0)) / 2))
    return (y0, x0, y1, x1), (slice(max(y0 - margin, 0), min(y1 + margin, shape[0])),
                              slice(max(x0 - margin, 0), min(x1 + margin, shape[1])))


def best_box_object(labels: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The object of ``labels`` with the highest IoU with the box mask ``inside`` (boolean, same
    shape), as a boolean mask; all False when no object overlaps the box."""
    ids = np.unique(labels[inside])
    ids = ids[ids > 0]
    if not ids.size:
        return np.zeros(labels.shape, bool)
    areas = np.bincount(labels.ravel(), minlength=int(ids.max()) + 1)
    overlap = np.bincount(labels[inside], minlength=len(areas))
    iou = overlap[ids] / (areas[ids] + inside.sum() - overlap[ids])
    return labels == ids[int(np.argmax(iou))]


def stack_masks(masks: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """Boolean masks → labels, mask ``k`` as id ``k + 1``; a pixel of two masks keeps the
    first (uint16, uint32 beyond 65535 masks)."""
    labels = np.zeros(shape, np.uint16 if len(masks) < 2**16 else np.uint32)
    for k, mask in enumerate(masks, start=1):
        labels[mask & (labels == 0)] = k
    return labels
