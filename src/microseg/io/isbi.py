"""ISBI 2012 EM stacks: serial-section images and membrane labels → instance labels.

A stack is a multi-page TIFF ``(Z, Y, X)`` or a folder of 2D slice files (PNG/TIFF/…, natural
order of the file names). Membrane labels follow the challenge: 255 (or any high value) = cell
interior, 0 = membrane. Instances are the 4-connected components of the interior, found in each
slice on its own (sections are 50 nm apart; nothing is linked across z); ids are unique over the
whole stack, counted slice by slice from the top. 4-connectivity keeps two cells apart across a
one-pixel diagonal membrane.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from microseg.errors import InputError
from microseg.io.folders import list_images
from microseg.io.images import as_labels, read_array
from microseg.io.items import LabelledItem
from microseg.preprocess.normalize import intensity_range

STACK_FOLDERS = ("images", "labels")


def read_em_stack(path: str | Path) -> np.ndarray:
    """Read an EM stack → ``(Z, Y, X)``: a multi-page TIFF (a single 2D file gives ``Z = 1``) or
    a folder of equally sized 2D slices. Colour slices are an :class:`InputError`."""
    path = Path(path)
    if path.is_dir():
        slices = []
        for file in list_images(path):
            image = read_array(file)
            if image.ndim != 2:
                raise InputError(file, f"EM slices must be grey 2D images, got shape {image.shape}")
            if slices and image.shape != slices[0].shape:
                raise InputError(file, f"slice shape {image.shape} differs from the first slice's "
                                       f"{slices[0].shape}")
            slices.append(image)
        return np.stack(slices)
    stack = read_array(path)
    if stack.ndim == 2:
        return stack[None]
    if stack.ndim != 3:
        raise InputError(path, f"an EM stack must be (Z, Y, X), got shape {stack.shape}")
    return stack


def membrane_to_instances(membrane: np.ndarray, threshold: float | None = None,
                          invert: bool = False, path: str | Path | None = None) -> np.ndarray:
    """Instance labels from a membrane label or probability image ``(Y, X)`` or ``(Z, Y, X)``.

    Interior is ``membrane > threshold`` (``invert=True``: ``membrane <= threshold``, for maps where
    high means membrane, e.g. a network's membrane probability). ``threshold=None``: boolean input
    is used as is; integer input must be a binary membrane map (two values at most, whatever
    the dtype: 0/255 in uint8 or uint16, 0/1, …) and is split halfway between its values (one
    value: interior unless 0); float input in [0, 1] uses 0.5 (other floats need an explicit
    threshold). Returns labels of the same shape. Input that does not fit (e.g. instance labels)
    raises :class:`InputError` naming ``path``.
    """
    from scipy import ndimage

    membrane = np.asarray(membrane)
    if membrane.ndim not in (2, 3):
        raise InputError(path, f"membrane image must be (Y, X) or (Z, Y, X), got {membrane.shape}")
    if membrane.dtype == bool and threshold is None:
        interior = membrane
    else:
        interior = membrane > _threshold(membrane, threshold, path)
    if invert:
        interior = ~interior
    structure = ndimage.generate_binary_structure(2, 1)
    if membrane.ndim == 3:  # the 2D cross in the middle plane only: no links across z
        structure = np.stack([np.zeros_like(structure), structure, np.zeros_like(structure)])
    labels, _ = ndimage.label(interior, structure=structure, output=np.uint32)
    return as_labels(labels)


def isbi_items(src: str | Path, labels: str | Path | None = None) -> list[LabelledItem]:
    """Labelled 2D items of an EM stack with membrane labels.

    ``src`` is either a folder holding ``images`` and ``labels`` (each a stack file or a slice
    folder, as in the challenge's training data) or the image stack itself, with ``labels`` then
    naming the label stack. Items are named by the slice file stem, or ``<stack>_zZZZ`` for stack
    files; each is positioned at its slice ``z`` (also ``meta["z"]``) and carries the whole
    image stack's ``intensity_range``. The stacks are read once, when the first item is loaded.
    """
    src = Path(src)
    if labels is None:
        image_src, label_src = (_stack_in(src, name) for name in STACK_FOLDERS)
    else:
        image_src, label_src = src, Path(labels)
    names = _slice_names(image_src)
    if len(_slice_names(label_src)) != len(names):
        raise InputError(label_src, f"{len(_slice_names(label_src))} label slices for "
                                    f"{len(names)} image slices in {image_src}")
    cache: dict[str, np.ndarray] = {}

    def stacks() -> tuple[np.ndarray, np.ndarray]:
        if not cache:
            images, membrane = read_em_stack(image_src), read_em_stack(label_src)
            if images.shape != membrane.shape:
                raise InputError(label_src, f"label stack shape {membrane.shape} does not match "
                                            f"image stack shape {images.shape}")
            cache["images"] = images
            cache["labels"] = membrane_to_instances(membrane, path=label_src)
        return cache["images"], cache["labels"]

    span = functools.lru_cache(maxsize=1)(lambda: intensity_range([stacks()[0]]))
    return [LabelledItem(name, _slice_loader(stacks, z), {"z": z}, position=z,
                         intensity_range=span) for z, name in enumerate(names)]


def _slice_loader(stacks, z: int):
    def load() -> tuple[np.ndarray, np.ndarray]:
        images, labels = stacks()
        return images[z], labels[z]

    return load


def _stack_in(folder: Path, name: str) -> Path:
    """``folder/name`` as a slice folder, or the single file ``folder/name.*``."""
    if (folder / name).is_dir():
        return folder / name
    files = sorted(folder.glob(f"{name}.*")) if folder.is_dir() else []
    if len(files) != 1:
        raise InputError(folder, f"expected a folder '{name}/' or one stack file '{name}.*'")
    return files[0]


def _slice_names(src: Path) -> list[str]:
    if src.is_dir():
        return [p.stem for p in list_images(src)]
    if not src.is_file():
        raise InputError(src, "EM stack not found")
    depth = read_em_stack(src).shape[0]
    return [f"{src.stem}_z{z:03d}" for z in range(depth)]


def _threshold(membrane: np.ndarray, threshold: float | None, path: str | Path | None) -> float:
    if threshold is not None:
        return float(threshold)
    if membrane.dtype.kind in "iu":
        return _binary_threshold(membrane, path)
    if membrane.dtype.kind == "f":
        if membrane.size and (membrane.min() < 0 or membrane.max() > 1):
            raise InputError(path, "float membrane values outside [0, 1]: give a threshold")
        return 0.5
    raise InputError(path, f"membrane image of dtype {membrane.dtype} is not a number image")


def _binary_threshold(membrane: np.ndarray, path: str | Path | None) -> float:
    """Halfway between the two values of an integer binary membrane map (membrane low,
    interior high); just below a single nonzero value (all interior), 0.5 for all zeros (all
    membrane). More than two values raise :class:`InputError`."""
    if membrane.size == 0:
        return 0.5
    low, high = int(membrane.min()), int(membrane.max())
    if np.any((membrane != low) & (membrane != high)):
        values = np.unique(membrane)
        raise InputError(path, f"not a binary membrane map: {values.size} distinct values "
                               f"({_listed(values)}); ISBI labels hold two, membrane low and "
                               f"interior high (0 and 255)")
    if low == high:
        return low - 0.5 if low != 0 else 0.5
    return (low + high) / 2


def _listed(values: np.ndarray, shown: int = 4) -> str:
    """``values`` as ``"0, 1, 2, …, 9"`` (the first ``shown`` and the last)."""
    if values.size <= shown + 1:
        return ", ".join(str(v) for v in values.tolist())
    return ", ".join(str(v) for v in values[:shown].tolist()) + f", …, {values[-1]}"
