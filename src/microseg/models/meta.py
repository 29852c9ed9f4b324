"""`ModelMeta`: everything a checkpoint records besides its weights, as one typed record.

Written by :func:`~microseg.models.checkpoint.save_checkpoint` (:meth:`ModelMeta.to_dict`) and
checked when a checkpoint is read (:meth:`ModelMeta.read`): a field of the wrong type is an
:class:`~microseg.errors.InputError` naming the file; keys a newer microseg wrote are kept in
``extra`` (and written back), never fatal. Code reads fields as attributes; the record is also a
read-only mapping of its plain data (``meta["arch"]``), for scripts written against the dict.

>>> meta = ModelMeta.read({"arch": "unet", "config": {"depth": 3}, "scale": 0.5, "new": 1})
>>> meta.arch, meta.scale, meta.extra, meta["config"]
('unet', 0.5, {'new': 1}, {'depth': 3})
>>> ModelMeta.read({"arch": "unet", "config": {}, "in_channels": "one"}, "model.pt")
Traceback (most recent call last):
...
microseg.errors.InputError: model.pt: checkpoint meta: in_channels: must be int, got str 'one'
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from microseg.config import from_dict
from microseg.errors import ConfigError, InputError
from microseg.preprocess.normalize import Normalization


@dataclass
class ModelMeta(Mapping[str, Any]):
    """What a checkpoint records (``None``: not recorded).

    ``arch`` / ``config``: ``microseg.models.build(arch, **config)`` rebuilds the network (no
    ``arch``: a bare network handed to a predictor). ``in_channels``; ``normalization`` of the
    input; ``target``: the training target (``target.config()``, or ``{"heads": {...}}``);
    ``post``: the post-processing deployment runs (``{name, params, head,
    bright_background}``, see :func:`microseg.post.registry.default_post`) and
    ``post_tuning``, the grid it was chosen from; ``object_diameter`` (pixels) and
    ``object_diameter_range`` of the training objects, the fixed training ``scale`` or the
    training ``pixel_size``; ``activation`` per head (overrides the one derived from the
    target) and ``z_context`` for stacks; ``training``: data summary and configuration;
    ``metrics``, ``iteration``; ``microseg_version``, ``created``, ``packed_from``,
    ``weights_dtype``; ``extra``: keys this version does not know.
    """

    arch: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    in_channels: int | None = None
    normalization: Normalization | None = None
    target: dict[str, Any] | None = None
    post: dict[str, Any] | None = None
    post_tuning: list[dict[str, Any]] | None = None
    object_diameter: float | None = None
    object_diameter_range: tuple[float, float] | None = None
    scale: float | None = None
    pixel_size: float | None = None
    activation: str | dict[str, str] | None = None
    z_context: str | None = None
    training: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    iteration: int | None = None
    microseg_version: str | None = None
    created: str | None = None
    packed_from: str | None = None
    weights_dtype: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, data: Mapping[str, Any], path: str | Path | None = None) -> "ModelMeta":
        """The record of the plain-data mapping ``data`` (a checkpoint's ``meta``); a field of
        the wrong type raises :class:`InputError` naming ``path``."""
        if not isinstance(data, Mapping):
            raise InputError(path, f"checkpoint meta must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        try:
            meta = from_dict(cls, {k: v for k, v in data.items() if k in known}, where="")
        except ConfigError as exc:
            raise InputError(path, f"checkpoint meta: {exc}") from None
        meta.extra = {k: v for k, v in data.items() if k not in known}
        return meta

    def to_dict(self) -> dict[str, Any]:
        """The recorded fields (and ``extra``) as plain data, what a checkpoint stores."""
        return dict(self)

    def __getitem__(self, key: str) -> Any:
        if key in self.extra:
            return self.extra[key]
        value = getattr(self, key, None) if key != "extra" else None
        if value is None:
            raise KeyError(key)
        if isinstance(value, tuple):
            return list(value)
        return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value

    def __iter__(self) -> Iterator[str]:
        names = [f.name for f in dataclasses.fields(self) if f.name != "extra"]
        yield from (n for n in names if getattr(self, n) is not None)
        yield from self.extra

    def __len__(self) -> int:
        return sum(1 for _ in self)
