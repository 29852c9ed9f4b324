"""Post-processing by name: predicted maps → instance labels.

:data:`POSTPROCESSORS` maps a name to ``post(maps, *, spacing=None, **params) -> labels``.
``maps`` is what :meth:`microseg.infer.Predictor.predict` returns: activated float32 maps
``(K, *spatial)`` (probabilities, distances), or a dict head → ``(K_h, *spatial)`` for a
multi-head model; ``*spatial`` is ``(Y, X)`` or ``(Z, Y, X)``. ``spacing`` is the pixel / voxel
size per axis; distance transforms use it, so anisotropic stacks are measured in physical units
(smoothing widths ``sigma`` stay in pixels). Labels come back consecutive, uint16 (uint32 when
needed).

Each entry binds maps to the arguments of its method through *selectors*: ``"head"`` (a
one-channel head: that map; a class head: the foreground probability ``1 − P(class 0)``),
``"head:k"`` (channel ``k`` of a head) or ``k`` / ``"k"`` (channel ``k`` of a one-output model).

==================== ============================================================================
name                 inputs (default selectors) → method
==================== ============================================================================
three_class          ``head`` (default: the 3-channel output) → :func:`three_class_to_instances`
components           ``foreground`` (default: the last class by argmax of a class output or head
                     ``head``, a one-map output above ``threshold``) → connected components
mesmer_watershed     ``distance`` = ``inner_distance``, ``interior`` = ``pixelwise:2`` →
                     :func:`~microseg.post.watershed.mesmer_watershed`
distance_watershed   ``foreground`` = ``fgbg:1`` / ``binary`` / the output's foreground →
                     :func:`~microseg.post.watershed.distance_watershed`
center_watershed     ``heatmap`` = ``center_heatmap`` (or channel 0), ``foreground`` = ``fgbg:1``
                     / ``binary`` (or channel 1) → :func:`.watershed.center_watershed`
==================== ============================================================================
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from scipy import ndimage as ndi

from microseg.config import check_choice
from microseg.errors import ConfigError, InputError
from microseg.models.meta import ModelMeta
from microseg.post.cleanup import finalize_labels
from microseg.post.three_class import three_class_to_instances
from microseg.post.watershed import center_watershed, distance_watershed, mesmer_watershed
from microseg.registry import Registry

Maps = np.ndarray | Mapping[str, np.ndarray]
Selector = str | int
PostFn = Callable[..., np.ndarray]

POSTPROCESSORS: Registry[np.ndarray] = Registry("post-processing")
FOREGROUND = ("fgbg:1", "binary")


def available() -> list[str]:
    """Names of the registered post-processing methods."""
    return POSTPROCESSORS.available()


def postprocess(name: str, maps: Maps, *, spacing: Sequence[float] | None = None,
                **params: Any) -> np.ndarray:
    """Run post-processing ``name`` on ``maps``; unknown names and parameters raise
    :class:`ConfigError`."""
    return _call(name, POSTPROCESSORS.get(name), maps, spacing=spacing, **params)


def _call(method: str, fn: PostFn, *args: Any, **params: Any) -> np.ndarray:
    """``fn(*args, **params)`` after checking that ``fn`` takes these parameters."""
    try:
        inspect.signature(fn).bind(*args, **params)
    except TypeError as exc:
        raise ConfigError(f"post {method!r}: {exc}") from None
    return fn(*args, **params)


# --- selecting maps ----------------------------------------------------------------------------

def _parse(selector: Selector) -> tuple[str | None, int | None]:
    if isinstance(selector, (int, np.integer)):
        return None, int(selector)
    head, _, channel = str(selector).partition(":")
    if head.isdigit() and not channel:
        return None, int(head)
    if channel and not channel.isdigit():
        raise ConfigError(f"map selector {selector!r}: the channel after ':' must be a number")
    return head, int(channel) if channel else None


def _head(maps: Maps, head: str | None) -> np.ndarray:
    if not isinstance(maps, Mapping):
        if head is not None:
            raise ConfigError(f"the model has one output, not a head named {head!r}; select "
                              f"channels by number")
        return np.asarray(maps)
    if head is None:
        if len(maps) != 1:
            raise ConfigError(f"the model has heads {sorted(maps)}; name one (e.g. "
                              f"'{next(iter(maps))}:0')")
        return np.asarray(next(iter(maps.values())))
    if head not in maps:
        raise ConfigError(f"the model has no head {head!r}; heads: {sorted(maps)}")
    return np.asarray(maps[head])


def select(maps: Maps, selector: Selector) -> np.ndarray:
    """One map ``(*spatial)`` picked from ``maps`` by ``selector`` (see the module docstring)."""
    head, channel = _parse(selector)
    array = _head(maps, head)
    if channel is None:
        return array[0] if array.shape[0] == 1 else 1.0 - array[0]
    if not 0 <= channel < array.shape[0]:
        raise ConfigError(f"map selector {selector!r}: channel {channel} does not exist "
                          f"(the output has {array.shape[0]})")
    return array[channel]


def _has(maps: Maps, selector: Selector) -> bool:
    head, channel = _parse(selector)
    if head is None:
        return not isinstance(maps, Mapping) and (channel is None or channel < len(maps))
    return isinstance(maps, Mapping) and head in maps and (
        channel is None or channel < len(maps[head]))


def _pick(maps: Maps, given: Selector | None, defaults: Sequence[Selector], name: str,
          method: str) -> np.ndarray:
    """``given``, else the first default selector the maps offer; :class:`ConfigError` if none."""
    if given is not None:
        return select(maps, given)
    for candidate in defaults:
        if _has(maps, candidate):
            return select(maps, candidate)
    heads = sorted(maps) if isinstance(maps, Mapping) else f"one output of {len(maps)} channel(s)"
    raise ConfigError(f"post {method!r}: cannot find the {name} map (looked for {list(defaults)} "
                      f"in {heads}); pass {name}=<selector>")


def _check_spacing(spacing: Sequence[float], ndim: int) -> tuple[float, ...]:
    values = tuple(float(s) for s in spacing)
    if len(values) != ndim or min(values) <= 0:
        raise InputError(None, f"spacing must be {ndim} positive numbers (one per axis), got "
                               f"{tuple(spacing)}")
    return values


# --- the methods -------------------------------------------------------------------------------

@POSTPROCESSORS.register("three_class")
def three_class(maps: Maps, *, head: str | None = None, spacing: Sequence[float] | None = None,
                **params: Any) -> np.ndarray:
    """3-class probabilities (0 background, 1 boundary, 2 cell) → instances; ``params`` go to
    :func:`~microseg.post.three_class.three_class_to_instances` (``grow``, ``min_size``, …).
    ``head``: which head of a multi-head model (default: the only 3-channel one)."""
    if isinstance(maps, Mapping) and head is None:
        three = [h for h, value in maps.items() if np.shape(value)[0] == 3]
        if len(three) != 1:
            raise ConfigError(f"post 'three_class': name the 3-class head (head=...) among "
                              f"{sorted(maps)}")
        head = three[0]
    probs = _head(maps, head)
    if probs.shape[0] != 3:
        raise ConfigError(f"post 'three_class' needs 3 class maps, got {probs.shape[0]}")
    return _call("three_class", three_class_to_instances, probs, **params)


@POSTPROCESSORS.register("components")
def components(maps: Maps, *, head: str | None = None, foreground: Selector | None = None,
               threshold: float = 0.5, invert: bool = False, min_size: int = 0,
               fill_holes: bool = False, spacing: Sequence[float] | None = None) -> np.ndarray:
    """Connected components of the foreground, then ``fill_holes`` / ``min_size`` clean-up.

    Foreground: the map picked by ``foreground`` above ``threshold``; by default, of the output
    (or head ``head``), the last class by argmax when it has several channels (class
    probabilities), or its one map above ``threshold``. ``invert`` takes the complement (cells
    between predicted membranes / boundaries).
    """
    if foreground is not None:
        mask = select(maps, foreground) > threshold
    else:
        array = _head(maps, head)
        mask = np.argmax(array, axis=0) == len(array) - 1 if len(array) > 1 \
            else array[0] > threshold
    if invert:
        mask = ~mask
    labels, _ = ndi.label(mask)
    return finalize_labels(labels, min_size=min_size, fill=fill_holes)


@POSTPROCESSORS.register("mesmer_watershed")
def mesmer(maps: Maps, *, distance: Selector | None = None, interior: Selector | None = None,
           spacing: Sequence[float] | None = None, **params: Any) -> np.ndarray:
    """Mesmer: inner-distance peaks as markers, interior probability as mask; ``params`` go to
    :func:`~microseg.post.watershed.mesmer_watershed` (``peak_threshold``,
    ``interior_threshold``, ``sigma``, ``min_distance``, ``min_size``, ``fill_holes``)."""
    inner = _pick(maps, distance, ("inner_distance:0",), "distance", "mesmer_watershed")
    cells = _pick(maps, interior, ("pixelwise:2",), "interior", "mesmer_watershed")
    return _call("mesmer_watershed", mesmer_watershed, inner, cells, **params)


@POSTPROCESSORS.register("distance_watershed")
def distance(maps: Maps, *, foreground: Selector | None = None,
             spacing: Sequence[float] | None = None, **params: Any) -> np.ndarray:
    """Watershed of the foreground along the valleys of its (physical) distance transform;
    ``params`` go to :func:`~microseg.post.watershed.distance_watershed` (``threshold``,
    ``min_distance``, ``min_size``, ``fill_holes``)."""
    fg = _pick(maps, foreground, (*FOREGROUND, 0), "foreground", "distance_watershed")
    sampling = None if spacing is None else _check_spacing(spacing, fg.ndim)
    return _call("distance_watershed", distance_watershed, fg, sampling=sampling, **params)


@POSTPROCESSORS.register("center_watershed")
def center(maps: Maps, *, heatmap: Selector | None = None, foreground: Selector | None = None,
           spacing: Sequence[float] | None = None, **params: Any) -> np.ndarray:
    """Watershed of the foreground from the peaks of a cell-centre heatmap; ``params`` go to
    :func:`~microseg.post.watershed.center_watershed` (``peak_threshold``, ``threshold``,
    ``min_distance``, ``min_size``, ``fill_holes``)."""
    centres = _pick(maps, heatmap, ("center_heatmap:0", 0), "heatmap", "center_watershed")
    fg = _pick(maps, foreground, (*FOREGROUND, 1), "foreground", "center_watershed")
    return _call("center_watershed", center_watershed, centres, fg, **params)


# --- defaults from a checkpoint ----------------------------------------------------------------

def resolve_post(post: Mapping[str, Any], target: Mapping[str, Any],
                 heads: Sequence[str | None]) -> dict[str, Any]:
    """A post-processing record (``{"name", "params", "head", "bright_background"}`` as the
    trainer writes ``ModelMeta.post``) with ``auto`` (or no name) replaced by the method it stands
    for, for a model with output ``heads`` (``[None]``: one output) trained on ``target``
    (``ModelMeta.target``). The one rule for deployment, validation and tuning alike.

    ``auto``: without a named ``head``, ``mesmer_watershed`` for a model with
    ``inner_distance`` and ``pixelwise`` heads and ``center_watershed`` for one with a
    ``center_heatmap`` head; else ``three_class`` when the target (of the named head, default
    the first) is ``three_class`` and ``components`` otherwise, on that head. An unknown name
    raises :class:`ConfigError`.
    """
    record = dict(post)
    name = record.get("name") or "auto"
    if name != "auto":
        check_choice("post.name", name, available())
        return record
    head = record.get("head")
    names = set(h for h in heads if h is not None)
    if head is None and {"inner_distance", "pixelwise"} <= names:
        return {**record, "name": "mesmer_watershed"}
    if head is None and "center_heatmap" in names:
        return {**record, "name": "center_watershed"}
    if "heads" in target:
        head = head or next(iter(target["heads"]), None)
        target = target["heads"].get(head, {})
    name = "three_class" if target.get("name") == "three_class" else "components"
    return {**record, "name": name, "head": head}


def default_post(meta: ModelMeta, heads: Sequence[str | None],
                 bright_background: bool = False) -> tuple[str, dict[str, Any]]:
    """The post-processing a checkpoint asks for → ``(name, params)``.

    ``meta.post`` (nothing recorded: ``auto``) resolved by :func:`resolve_post`; its
    ``params``, with its ``head`` when one is named. For an image whose bright background the
    normalisation inverted (``bright_background``), the recorded ``bright_background``
    parameters override ``params``.
    """
    recorded = resolve_post(meta.post or {}, meta.target or {}, heads)
    params = dict(recorded.get("params") or {})
    if bright_background:
        params.update(recorded.get("bright_background") or {})
    if recorded.get("head") is not None:
        params["head"] = recorded["head"]
    return recorded["name"], params
