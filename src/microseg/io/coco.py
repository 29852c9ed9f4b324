"""COCO instance annotations (the LIVECell format) ↔ label images, via pycocotools.

Reading: every annotation of an image (polygons, uncompressed RLE or compressed RLE; crowd
annotations included) becomes one object. Label ids are positions in the image's annotation list
(first annotation → 1, second → 2, …), so id ``k`` always traces back to annotation ``k - 1``.

Overlap rule: where annotations overlap, the **smaller** annotation (fewer pixels) wins, so a small
cell lying on a large one stays visible; between equal areas the later annotation wins. An
annotation that is completely covered by smaller ones, or is empty, leaves no pixel.

Writing: each label id of an image becomes one annotation (category 1, ``"cell"``), as compressed
RLE (exact) or as polygons (outer contours at pixel-edge midpoints in COCO's pixel-centre
convention; a hole in an object is filled, since COCO polygons cannot describe holes).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from microseg.errors import InputError
from microseg.io.atomic import atomic_path
from microseg.io.images import as_labels, read_array
from microseg.io.items import LabelledItem

MODES = ("rle", "polygon")
#: RLE counts are uint32, so an image has fewer pixels than this
MAX_PIXELS = 2 ** 32


def annotations_to_labels(annotations: Sequence[Mapping[str, Any]], height: int, width: int,
                          source: str | Path | None = None) -> np.ndarray:
    """Paint COCO ``annotations`` of one image into a ``(height, width)`` label image (uint16, or
    uint32 past 65535 annotations); see the module docstring for ids and overlaps. ``source``
    names the file in error messages."""
    from pycocotools import mask as mask_utils

    rles = [_to_rle(a, height, width, source, i) for i, a in enumerate(annotations)]
    labels = np.zeros((height, width), np.uint32)
    if rles:
        # one call per object: pycocotools 2.0.11 overflows on area() of > 255 objects at once
        areas = np.array([int(mask_utils.area(rle)) for rle in rles], np.int64)
        order = np.argsort(-areas, kind="stable")  # large first, so smaller ones are painted last
        boxes = mask_utils.toBbox(rles)
        with warnings.catch_warnings():  # pycocotools' decode warns about numpy 2's copy keyword
            warnings.simplefilter("ignore", DeprecationWarning)
            for index in order:
                x, y, w, h = _box(boxes[index], height, width)
                mask = mask_utils.decode(rles[index])[y:y + h, x:x + w].astype(bool)
                labels[y:y + h, x:x + w][mask] = index + 1
    return as_labels(labels, source)


def labels_to_coco(named_labels: Mapping[str, np.ndarray], mode: str = "rle",
                   category: str = "cell") -> dict:
    """COCO dict for label images ``{file_name: (Y, X) labels}``: one image entry each (ids from 1
    in the given order) and one annotation per label id (in increasing id order), with ``area``
    (pixels) and ``bbox`` ``[x, y, w, h]``. ``mode`` is ``"rle"`` (compressed, exact) or
    ``"polygon"``."""
    if mode not in MODES:
        raise InputError(None, f"mode must be one of {MODES}, got {mode!r}")
    images, annotations = [], []
    for image_id, (name, labels) in enumerate(named_labels.items(), start=1):
        labels = as_labels(labels, name)
        if labels.ndim != 2:
            raise InputError(name, f"COCO needs 2D label images (Y, X), got shape {labels.shape}")
        height, width = labels.shape
        images.append({"id": image_id, "file_name": name, "height": height, "width": width})
        for segmentation, area, bbox in _objects(labels, mode):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": 1, "segmentation": segmentation, "area": area,
                                "bbox": bbox, "iscrowd": 0})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": category}]}


def write_coco(path: str | Path, coco: Mapping[str, Any]) -> Path:
    """Write a COCO dict as JSON. Atomic."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(coco, fh)
    return Path(path)


def read_coco(path: str | Path) -> dict:
    """Read and check a COCO JSON file (``images`` with an integer id, a file_name, positive
    integer height and width; ``annotations`` with image_id and segmentation)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "COCO file not found")
    try:
        with open(path, encoding="utf-8") as fh:
            coco = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"cannot read COCO JSON ({exc})") from None
    if not isinstance(coco, dict) or not isinstance(coco.get("images"), list) \
            or not isinstance(coco.get("annotations", []), list):
        raise InputError(path, "not a COCO file: needs an 'images' list and an 'annotations' list")
    for n, image in enumerate(coco["images"]):
        _check_image(path, n, image)
    ids = [image["id"] for image in coco["images"]]
    if len(set(ids)) != len(ids):
        raise InputError(path, "image ids are not unique")
    known = set(ids)
    for n, annotation in enumerate(coco.get("annotations", [])):
        if not isinstance(annotation, dict) or "image_id" not in annotation \
                or "segmentation" not in annotation:
            raise InputError(path, f"annotations[{n}] needs 'image_id' and 'segmentation'")
        if annotation["image_id"] not in known:
            raise InputError(path, f"annotations[{n}] refers to unknown image id "
                                   f"{annotation['image_id']}")
    return coco


def _check_image(path: Path, n: int, image: Any) -> None:
    """Raise :class:`InputError` unless ``image`` is a COCO image entry (see :func:`read_coco`)."""
    missing = [k for k in ("id", "file_name", "height", "width")
               if not isinstance(image, dict) or k not in image]
    if missing:
        raise InputError(path, f"images[{n}] lacks {missing}")
    if not _is_int(image["id"]) or not isinstance(image["file_name"], str) \
            or not image["file_name"]:
        raise InputError(path, f"images[{n}] needs an integer id and a file name, got id "
                               f"{image['id']!r} and file_name {image['file_name']!r}")
    height, width = image["height"], image["width"]
    if not (_is_int(height) and _is_int(width) and height > 0 and width > 0
            and height * width < MAX_PIXELS):
        raise InputError(path, f"images[{n}] height and width must be positive integers with "
                               f"fewer than 2**32 pixels, got {height!r} × {width!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class CocoDataset:
    """A COCO / LIVECell annotation file with its images.

    ``image_root`` (default: the JSON file's folder) holds the images; a ``file_name`` not found
    directly under it is looked up by name in its subfolders (LIVECell keeps images in per-cell-type
    folders). ``labels(image_id)`` paints the annotations (see the module docstring).
    """

    def __init__(self, json_path: str | Path, image_root: str | Path | None = None):
        self.path = Path(json_path)
        coco = read_coco(self.path)
        self.image_root = self.path.parent if image_root is None else Path(image_root)
        self._images = {image["id"]: image for image in coco["images"]}
        self._annotations: dict[Any, list] = {image_id: [] for image_id in self._images}
        for annotation in coco.get("annotations", []):
            self._annotations[annotation["image_id"]].append(annotation)
        self._by_name: dict[str, Path] | None = None

    def __len__(self) -> int:
        return len(self._images)

    def __repr__(self) -> str:
        return f"CocoDataset({str(self.path)!r}, images={len(self)})"

    @property
    def image_ids(self) -> list:
        return sorted(self._images)

    def _entry(self, image_id) -> dict:
        if image_id not in self._images:
            raise InputError(self.path, f"no image with id {image_id!r}")
        return self._images[image_id]

    def file_name(self, image_id) -> str:
        return self._entry(image_id)["file_name"]

    def size(self, image_id) -> tuple[int, int]:
        """``(height, width)`` of an image as recorded in the JSON."""
        entry = self._entry(image_id)
        return int(entry["height"]), int(entry["width"])

    def annotations(self, image_id) -> list[dict]:
        self._entry(image_id)
        return list(self._annotations[image_id])

    def labels(self, image_id) -> np.ndarray:
        """Label image ``(height, width)`` of ``image_id``."""
        return annotations_to_labels(self.annotations(image_id), *self.size(image_id), self.path)

    def image_path(self, image_id) -> Path:
        name = self.file_name(image_id)
        direct = self.image_root / name
        if direct.is_file():
            return direct
        if self._by_name is None:
            self._by_name = {p.name: p for p in self.image_root.rglob("*") if p.is_file()}
        found = self._by_name.get(Path(name).name)
        if found is None:
            raise InputError(direct, f"image of COCO id {image_id} not found under "
                                     f"{self.image_root}")
        return found

    def image(self, image_id) -> np.ndarray:
        """The image file of ``image_id``; its size must match the JSON's height and width."""
        path = self.image_path(image_id)
        image = read_array(path)
        if image.shape[:2] != self.size(image_id):
            raise InputError(path, f"image shape {image.shape} does not match the size "
                                   f"{self.size(image_id)} recorded in {self.path}")
        return image


def coco_items(src: str | Path, image_root: str | Path | None = None) -> list[LabelledItem]:
    """Labelled items of every image of a COCO file (name: file stem, made unique with the id;
    ``meta``: ``path`` of the COCO file, ``image_id``, ``file_name``)."""
    dataset = CocoDataset(src, image_root)
    stems = {i: Path(dataset.file_name(i)).stem for i in dataset.image_ids}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    items = []
    for image_id, stem in stems.items():
        name = stem if counts[stem] == 1 else f"{stem}_id{image_id}"
        items.append(LabelledItem(name, _loader(dataset, image_id), {
            "path": str(dataset.path), "image_id": image_id,
            "file_name": dataset.file_name(image_id)}))
    return items


def _loader(dataset: CocoDataset, image_id):
    return lambda: (dataset.image(image_id), dataset.labels(image_id))


def _to_rle(annotation: Mapping[str, Any], height: int, width: int, source, index: int) -> dict:
    from pycocotools import mask as mask_utils

    where = f"annotation {index} (id {annotation.get('id')})"
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, list):
        polygons = list(segmentation)
        if not polygons or not all(_is_polygon(p, height, width) for p in polygons):
            raise InputError(source, f"{where}: polygons must be lists of ≥ 3 x, y pairs of "
                                     f"finite numbers less than one image size outside the image")
        return mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    if isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        size = segmentation["size"]
        if not isinstance(size, (list, tuple)) or list(size) != [height, width]:
            raise InputError(source, f"{where}: RLE size {segmentation['size']} differs from the "
                                     f"image size {[height, width]}")
        counts = segmentation["counts"]
        if isinstance(counts, (str, bytes)):
            counts = _rle_string_counts(counts)
            if counts is None:
                raise InputError(source, f"{where}: RLE counts are not a compressed COCO RLE "
                                         f"string")
        if isinstance(counts, list):
            if not all(_is_int(c) and c >= 0 for c in counts) or sum(counts) != height * width:
                raise InputError(source, f"{where}: RLE counts must be integers ≥ 0 and sum "
                                         f"to height × width = {height * width}")
            return mask_utils.frPyObjects({"size": [height, width], "counts": counts},
                                          height, width)
    raise InputError(source, f"{where}: segmentation must be polygons or an RLE dict")


def _is_polygon(polygon: Any, height: int, width: int) -> bool:
    """Whether ``polygon`` is a flat list ``x0, y0, x1, y1, …`` of ≥ 3 points, each a finite
    number less than one image size outside the image (so pycocotools can rasterise it)."""
    if not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2 \
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in polygon):
        return False
    points = np.asarray(polygon, np.float64).reshape(-1, 2)
    size = np.array([width, height], np.float64)
    return bool(np.all(np.isfinite(points)) and np.all(np.abs(points - size / 2) < 1.5 * size))


def _rle_string_counts(counts: str | bytes) -> list[int] | None:
    """Run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``: 5 bits per
    character from ``'0'``, a continuation bit, a sign bit, runs from the third on stored as the
    difference to the run two before); None when it is not such a string."""
    data = counts.encode() if isinstance(counts, str) and counts.isascii() else counts
    if not isinstance(data, bytes) or not all(48 <= c < 112 for c in data):
        return None
    runs: list[int] = []
    value = shift = 0
    for char in data:
        value |= ((char - 48) & 0x1F) << shift
        shift += 5
        if (char - 48) & 0x20:
            continue
        if (char - 48) & 0x10:
            value |= -1 << shift
        runs.append(value + (runs[-2] if len(runs) > 2 else 0))
        value = shift = 0
    return None if shift else runs


def _box(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
    x1 = min(width, int(np.ceil(box[0] + box[2])))
    y1 = min(height, int(np.ceil(box[1] + box[3])))
    return max(x0, 0), max(y0, 0), x1 - max(x0, 0), y1 - max(y0, 0)


def _objects(labels: np.ndarray, mode: str):
    """Yield ``(segmentation, area, bbox)`` for each label id of a 2D label image, by id."""
    from pycocotools import mask as mask_utils
    from scipy import ndimage

    buffer = np.zeros(labels.shape, np.uint8, order="F")
    for index, crop in enumerate(ndimage.find_objects(labels)):
        if crop is None:
            continue
        mask = labels[crop] == index + 1
        ys, xs = crop
        bbox = [float(xs.start), float(ys.start), float(xs.stop - xs.start),
                float(ys.stop - ys.start)]
        if mode == "rle":
            buffer[crop] = mask
            rle = mask_utils.encode(buffer)
            buffer[crop] = 0
            segmentation = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
        else:
            segmentation = _polygons(mask, ys.start, xs.start)
        yield segmentation, int(mask.sum()), bbox


def _polygons(mask: np.ndarray, top: int, left: int) -> list[list[float]]:
    """Outer contours of a cropped mask as COCO polygons ``[x0, y0, x1, y1, …]`` in image
    coordinates (pixel centres at integer + 0.5, COCO's convention)."""
    from scipy import ndimage
    from skimage.measure import find_contours

    filled = np.pad(ndimage.binary_fill_holes(mask), 1).astype(np.float32)
    polygons = []
    for contour in find_contours(filled, 0.5):
        xy = contour[:, ::-1] + np.array([left - 0.5, top - 0.5])  # (row, col) → (x, y)
        polygons.append(np.round(xy, 2).ravel().tolist())
    return polygons
