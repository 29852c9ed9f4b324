"""The bundled models as text: one row per model (``microseg models list``) and a whole card
(``microseg models info NAME``)."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from microseg.zoo.card import ModelCard
from microseg.zoo.store import available, card, card_path, checkpoint_path, model_files, \
    weights_dir

MB = 1_000_000
INDENT = 14
WIDTH = 100


def size_mb(paths: list[Path]) -> float:
    """Total size of ``paths`` in MB (10⁶ bytes)."""
    return sum(p.stat().st_size for p in paths) / MB


def models_table() -> str:
    """One row per available model: name, architecture, parameters, size (MB), summary."""
    names = available()
    if not names:
        return f"no bundled models (no checkpoints in {weights_dir()})"
    rows = [("name", "architecture", "parameters", "size MB", "summary")]
    for name in names:
        size = f"{size_mb(model_files(name)):.1f}"
        if not card_path(name).is_file():
            rows.append((name, "?", "?", size, f"(no card) {checkpoint_path(name)}"))
            continue
        model = card(name)
        rows.append((name, model.architecture.name, f"{model.parameters:,}", size,
                     model.summary))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[4]])
                     .rstrip() for row in rows)


def _post(model: ModelCard) -> list[str]:
    """The card's post-processing lines (none without one)."""
    if model.post is None:
        return []
    lines = [f"post-processing {model.post.name} {_pairs(model.post.params)}".rstrip()]
    if model.post.bright_background:
        lines.append(f"on bright-background images: {_pairs(model.post.bright_background)}")
    return lines


def describe(name: str) -> str:
    """The card of available model ``name`` as readable text, with its weights files (a
    user's model without a card: its checkpoint's record, :func:`describe_model`)."""
    if not card_path(name).is_file():
        return describe_model(checkpoint_path(name))
    model = card(name)
    files = model_files(name)
    lines = _wrap(f"{model.name}: {model.summary}", WIDTH) + [""]
    lines += _section("architecture", [f"{model.architecture.name}, {model.parameters:,} "
                                       f"parameters", _pairs(model.architecture.config)])
    lines += _section("input", _input(model))
    lines += _section("pipeline", [model.pipeline] + _post(model))
    lines += _section("weights", [f"{p} ({size_mb([p]):.1f} MB)" for p in files], wrap=False)
    lines += _section("training data", [f"- {d.name}: {d.description}. Cite: {d.citation}. "
                                        f"Licence: {d.licence}" for d in model.training.data])
    training = model.training
    details = [f"config {training.config}"]
    if training.scheme:
        details.append(f"scheme {training.scheme}")
    if training.iterations:
        details.append(f"{training.iterations} iterations")
    lines += _section("training", ["; ".join(details)])
    lines += _section("", [f"$ {c}" for c in training.commands], wrap=False)
    figures = [f"{v.dataset} ({v.split}) {v.metric} = {v.value:.4g}" for v in model.validation]
    lines += _section("validation", figures or ["no figures recorded"])
    if model.validation_command:
        lines += _section("", [f"$ {model.validation_command}"], wrap=False)
    lines += _section("licence", [model.licence])
    return "\n".join(lines).rstrip()


def describe_model(model: str | Path) -> str:
    """What is known of ``model``: the card of a bundled model's name (:func:`describe`), else
    the record of a checkpoint file (architecture, input, training data, post-processing,
    validation scores); a file that is not a readable checkpoint raises :class:`InputError`."""
    from microseg.models.checkpoint import read_checkpoint
    from microseg.zoo.store import is_model_name

    if is_model_name(model):
        return describe(str(model))
    meta = read_checkpoint(Path(model).expanduser())["meta"]
    training = meta.training or {}
    sources = [f"- {s.get('name')} ({s.get('kind')}, {s.get('train_images')} training images)"
               for s in training.get("sources", [])]
    post = meta.post or {}
    lines = [f"{Path(model).name}: checkpoint written by microseg {meta.microseg_version or '?'}"
             f" {meta.created or ''}".rstrip(), ""]
    lines += _section("architecture", [f"{meta.arch} {_pairs(meta.config)}"])
    normalization = meta.normalization.method if meta.normalization else "percentile"
    lines += _section("input", [f"{meta.in_channels} channel(s), {normalization} "
                                f"normalisation" + (f", trained at object diameter "
                                                    f"{meta.object_diameter:.3g} px"
                                                    if meta.object_diameter else "")])
    lines += _section("post", [f"{post.get('name', 'auto')} {_pairs(post.get('params') or {})}"
                               .rstrip()])
    lines += _section("training data", sources or ["not recorded"])
    if meta.iteration is not None:
        lines += _section("training", [f"{meta.iteration} iterations"])
    scores = {k: v for k, v in (meta.metrics or {}).items() if isinstance(v, (int, float))}
    lines += _section("validation", [_pairs({k: f"{v:.4g}" for k, v in scores.items()})
                                     or "no figures recorded"])
    return "\n".join(lines).rstrip()


def _input(model: ModelCard) -> list[str]:
    spec = model.input
    parts = [f"{spec.channels} channel(s)", f"{spec.normalization} normalisation"]
    if spec.dark_background:
        parts.append("bright-background images inverted")
    if spec.object_diameter_px is not None:
        parts.append(f"trained at object diameter {spec.object_diameter_px:g} px")
    if spec.pixel_size is not None:
        parts.append(f"trained at pixel size {spec.pixel_size:g}")
    lines = [", ".join(parts)]
    if spec.modalities:
        lines.append("modalities: " + ", ".join(spec.modalities))
    return lines


def _pairs(values: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in values.items())


def _section(title: str, lines: list[str], wrap: bool = True) -> list[str]:
    """``lines`` under a title column, wrapped to :data:`WIDTH` unless ``wrap`` is false (for
    commands and paths, so that they can be copied)."""
    if wrap:
        lines = [part for line in lines for part in _wrap(line, WIDTH - INDENT)]
    return [f"{title if i == 0 else '':<{INDENT}}{line}" for i, line in enumerate(lines)]


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, split between words only (a list
    item ``- …`` continues indented)."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False,
                         subsequent_indent="  " if text.startswith("- ") else "")
