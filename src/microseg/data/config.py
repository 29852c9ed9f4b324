"""Configuration of training / validation data: one `SourceConfig` per dataset, a `DataConfig`
listing them. Both load from YAML with :func:`microseg.config.from_dict`::

    sources:
      - kind: ctc
        sequences: [${MICROSEG_DATA}/ctc/Fluo-N2DH-GOWT1/01]
        ranges: {train: [0, 35], val: [35, 92]}      # half-open frame ranges (SEG on 2–47)
        normalize: sequence                          # XB-Net per-sequence min/max
      - kind: folder
        images: dsb2018/images
        labels: dsb2018/labels
        ids: {train: dsb2018/train.txt, val: dsb2018/val.txt}
        diameter: 20                                 # rescale to 20 px median object diameter
    root: /data                                      # base of relative paths (default: cwd)
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from microseg.config import NonNegative, Ordered, Percent, Positive, check_fields
from microseg.data.modality import MODALITIES, Modality
from microseg.data.splits import SplitConfig, check_ranges
from microseg.errors import ConfigError

ALL = "all"  # split name that every source defines: all of its items

_COMMON = {"kind", "name", "split", "channels", "ndim", "normalize", "percentiles", "per_channel",
           "dark_background", "diameter", "diameter_per_image", "scale", "modality"}
_BY_KIND = {
    "folder": {"images", "labels", "ids", "pattern", "group_by", "include", "label_template",
               "include_modalities"},
    "ctc": {"sequences", "gt", "ranges", "ignore_unannotated", "ignore_margin"},
    "coco": {"annotations", "image_root", "pattern", "group_by", "include", "include_modalities"},
    "isbi": {"images", "labels", "ranges"},
}
_REQUIRED = {"folder": ("images", "labels"), "ctc": ("sequences",), "coco": ("annotations",),
             "isbi": ("images", "labels")}


@dataclass
class SourceConfig:
    """One dataset and how to read, split, normalise and rescale it.

    ``kind`` — ``folder``: ``images`` + ``labels`` folders matched by file stem, optional
    ``ids: {split: id-list file}``; ``ctc``: ``sequences`` (``.../NN`` folders), ``gt`` =
    ``gold`` (``NN_GT``), ``silver`` (``NN_ST``) or ``gold+silver`` (gold where a frame has it,
    else silver), unannotated cells of sparse GT ignored (``ignore_unannotated``, grown by
    ``ignore_margin`` pixels, see :mod:`microseg.data.sparse`); ``coco``:
    ``annotations: {split: json}`` with optional ``image_root``; ``isbi``: EM stack ``images``
    and membrane ``labels`` (stack file or slice folder), instances = connected components.
    Groups: the file stem (folder, coco; or the ``group_by`` fields), the sequence folder name
    ``NN`` (ctc; ``<dataset>/NN`` when the sequences come from several datasets), the slice
    (isbi).

    Splitting — ``ranges: {split: [start, stop)}`` of frames (ctc) or slices (isbi); ``ids`` /
    ``annotations`` per split; or ``split`` (a :class:`SplitConfig`: random or by group) for
    sources without a split of their own (a coco source then pools all its annotation files).
    Every source also offers split ``all``.

    File-name metadata (folder, coco) — ``pattern``: regex with named groups (see
    :func:`~microseg.data.splits.parse_filename_metadata`), fields go to ``Sample.meta``;
    ``group_by``: fields forming the group (e.g. ``[xy]``); ``include``: keep only files whose
    fields take the listed values (e.g. ``{c: ["1"]}``); ``label_template``: label stem built from
    the fields (e.g. ``"day{day}t{t}xy{xy}"``) when one mask serves several images.
    ``include_modalities``: keep only the images whose modality, guessed from their pixels by
    :func:`~microseg.data.modality.guess_modality`, is listed (e.g. ``[brightfield, he]``, to
    give a mixed set's rarer modalities a loader of their own).

    Pixels — ``channels``: 1 (grey; colour by luminance) or 3 (RGB; grey replicated); ``ndim``: 2,
    or 3 for volumes; ``normalize``: ``percentile`` (per image, ``percentiles``), ``minmax`` (per
    image) or ``sequence`` (min/max over a whole CTC sequence or ISBI stack, XB-Net);
    ``per_channel`` normalises channels separately; ``dark_background`` inverts images whose
    normalised median is above 0.5 (bright-field, H&E), so objects are always bright.
    ``scale`` resamples by a fixed factor; ``diameter`` rescales to that median object diameter
    in pixels: one factor per source, measured on all of its labelled items whatever the split
    (so train and val share it), or one per image with ``diameter_per_image``; the factor is
    kept in ``meta["scale"]``.
    """

    kind: Literal["folder", "ctc", "coco", "isbi"]
    name: str = ""
    images: str | None = None
    labels: str | None = None
    ids: dict[str, str] | None = None
    sequences: list[str] | None = None
    gt: Literal["gold", "silver", "gold+silver"] = "gold"
    ignore_unannotated: bool = True
    ignore_margin: NonNegative = 3.0
    annotations: dict[str, str] | None = None
    image_root: str | None = None
    ranges: dict[str, list[int]] | None = None
    split: SplitConfig | None = None
    pattern: str | None = None
    group_by: list[str] | None = None
    include: dict[str, list[str]] | None = None
    label_template: str | None = None
    include_modalities: list[Modality] | None = None
    channels: Literal[1, 3] = 1
    ndim: Literal[2, 3] = 2
    normalize: Literal["percentile", "minmax", "sequence"] = "percentile"
    percentiles: Annotated[list[Percent], Ordered(strict=True)] = field(
        default_factory=lambda: [1.0, 99.8])
    per_channel: bool = False
    dark_background: bool = False
    diameter: Positive | None = None
    diameter_per_image: bool = False
    scale: Positive | None = None
    modality: str | None = None

    def __post_init__(self) -> None:
        where = f"source {self.name or self.kind!r}"
        check_fields(self, where)
        allowed = _COMMON | _BY_KIND[self.kind]
        stray = sorted(f.name for f in dataclasses.fields(self)
                       if f.name not in allowed and getattr(self, f.name) != _default(f))
        if stray:
            raise ConfigError(f"{where}: key(s) {stray} do not apply to kind {self.kind!r}")
        missing = [k for k in _REQUIRED[self.kind] if not getattr(self, k)]
        if missing:
            raise ConfigError(f"{where}: kind {self.kind!r} needs {missing}")
        self._check_values(where)

    def _check_values(self, where: str) -> None:
        if self.normalize == "sequence" and self.kind not in ("ctc", "isbi"):
            raise ConfigError(f"{where}: normalize 'sequence' needs a ctc or isbi source")
        if self.ndim == 3 and self.channels != 1:
            raise ConfigError(f"{where}: ndim 3 needs channels 1, got {self.channels}")
        if self.ndim == 3 and self.kind in ("coco", "isbi"):
            raise ConfigError(f"{where}: {self.kind} sources are 2D; ndim must be 2")
        if self.scale is not None and self.diameter is not None:
            raise ConfigError(f"{where}: give either scale or diameter, not both")
        intrinsic = [k for k in ("ids", "ranges", "annotations") if getattr(self, k)]
        if self.split is not None and intrinsic and self.kind != "coco":
            raise ConfigError(f"{where}: give either {intrinsic[0]} or split, not both")
        if self.ranges is not None:
            check_ranges(self.ranges)
        if self.include_modalities == []:
            raise ConfigError(f"{where}.include_modalities: must list some of {list(MODALITIES)}")
        if (self.group_by or self.include or self.label_template) and not self.pattern:
            raise ConfigError(f"{where}: group_by, include and label_template need a pattern")
        names = [*(self.ids or {}), *(self.ranges or {}), *(self.annotations or {}),
                 *(self.split.names if self.split else [])]
        if ALL in names:
            raise ConfigError(f"{where}: split name {ALL!r} is reserved for all items")

    @property
    def splits(self) -> list[str]:
        """Split names this source defines (always including ``all``)."""
        if self.split is not None:
            names = self.split.names
        else:
            names = [*(self.ids or {}), *(self.ranges or {}), *(self.annotations or {})]
        return [*names, ALL]


@dataclass
class DataConfig:
    """The datasets of a training run. ``root`` is the base of relative paths (environment
    variables such as ``${MICROSEG_DATA}`` and ``~`` are expanded in every path)."""

    sources: list[SourceConfig] = field(default_factory=list)
    root: str | None = None

    def __post_init__(self) -> None:
        if not self.sources:
            raise ConfigError("data: at least one source is needed")
        names = [s.name for s in self.sources if s.name]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"data: source names {repeated} are used more than once")
        if len({s.channels for s in self.sources}) > 1:
            raise ConfigError(f"data: all sources must give the same number of channels, got "
                              f"{[s.channels for s in self.sources]}")


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def resolve(path: str, root: str | None) -> Path:
    """Expand ``~`` and environment variables in ``path``; relative paths are taken from ``root``
    (the working directory when ``root`` is ``None``)."""
    expanded = Path(os.path.expandvars(os.path.expanduser(str(path))))
    if root is not None and not expanded.is_absolute():
        return resolve(root, None) / expanded
    return expanded
