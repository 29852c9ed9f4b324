"""Where the bundled models live and how a name becomes a :class:`~microseg.infer.Predictor`.

Files, inside the installed package::

    microseg/zoo/cards/<name>.yaml            model card (always shipped)
    microseg/zoo/weights/<name>.pt            checkpoint (microseg.models.checkpoint)
    microseg/zoo/weights/<card's edge_classifier>   EM models: edge random forests (.npz, arrays only)

The environment variable ``MICROSEG_ZOO_DIR`` replaces the weights folder (e.g. to try
checkpoints before they are bundled); cards are always the package's. A model is *available*
when both its card and its checkpoint exist.

The user's own models (``microseg finetune`` writes them) live in a second folder,
``$MICROSEG_USER_MODELS`` or else ``~/.microseg/models``: ``<name>.pt`` with, optionally, its
card ``<name>.yaml``. They are found by name like the bundled ones; a bundled model's name
always means the bundled model.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from microseg.errors import InputError
from microseg.zoo.card import ModelCard, read_card

if TYPE_CHECKING:
    from microseg.infer.predictor import Predictor

ENV_VAR = "MICROSEG_ZOO_DIR"
USER_ENV_VAR = "MICROSEG_USER_MODELS"
USER_DEFAULT = "~/.microseg/models"
PACKAGE_DIR = Path(__file__).resolve().parent
CARDS_DIR = PACKAGE_DIR / "cards"


def weights_dir() -> Path:
    """The folder holding the checkpoints: ``$MICROSEG_ZOO_DIR`` when set, else the package's
    ``zoo/weights``."""
    override = os.environ.get(ENV_VAR)
    return Path(override).expanduser() if override else PACKAGE_DIR / "weights"


def user_models_dir() -> Path:
    """The folder of the user's models: ``$MICROSEG_USER_MODELS`` when set, else
    ``~/.microseg/models`` (it need not exist)."""
    return Path(os.environ.get(USER_ENV_VAR) or USER_DEFAULT).expanduser()


def bundled() -> list[str]:
    """Names of the bundled models ready to load (card and checkpoint present)."""
    folder = weights_dir()
    return [name for name in card_names() if (folder / f"{name}.pt").is_file()]


def user_models() -> list[str]:
    """Names of the user's models (checkpoints in :func:`user_models_dir`), bundled names
    left out."""
    folder, taken = user_models_dir(), set(card_names())
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.pt")
                  if p.is_file() and not p.name.startswith(".") and p.stem not in taken)


def card_names() -> list[str]:
    """Names of every card in the package, with or without a checkpoint."""
    return sorted(p.stem for p in CARDS_DIR.glob("*.yaml"))


def available() -> list[str]:
    """Names of every model ready to load: the bundled ones (:func:`bundled`), then the
    user's (:func:`user_models`)."""
    return bundled() + user_models()


def is_model_name(model: Any) -> bool:
    """Whether ``model`` reads as a bundled model's name rather than a file: a string with no
    folder and no suffix that is not an existing file."""
    if not isinstance(model, str):
        return False
    path = Path(model)
    return len(path.parts) == 1 and not path.suffix and not path.is_file()


def _check(name: str) -> None:
    names = available()
    if name not in names:
        offered = ", ".join(names) or f"none (no checkpoints in {weights_dir()})"
        raise InputError(name, f"no bundled model of this name; available: {offered}. A "
                               f"checkpoint (.pt) or an exported .onnx file can be given as a "
                               f"path instead")


def card_path(name: str) -> Path:
    """The card file of model ``name`` (a user's model's need not exist); an unknown name
    raises :class:`InputError` listing the available ones."""
    _check(name)
    return (CARDS_DIR if name in card_names() else user_models_dir()) / f"{name}.yaml"


def card(name: str) -> ModelCard:
    """The card of model ``name``; an unknown name, or a user's model without a card, raises
    :class:`InputError`."""
    path = card_path(name)
    if not path.is_file():
        raise InputError(path, f"model {name!r} has no card")
    return read_card(path)


def checkpoint_path(name: str) -> Path:
    """The checkpoint file of model ``name``, bundled or the user's."""
    _check(name)
    return (weights_dir() if name in card_names() else user_models_dir()) / f"{name}.pt"


def edge_classifier_path(name: str) -> Path | None:
    """The edge classifier file of EM model ``name`` (None when its card names none, or it has
    no card); a file the card names but the weights folder lacks raises :class:`InputError`."""
    card_file = card_path(name)
    file_name = read_card(card_file).edge_classifier if card_file.is_file() else None
    if file_name is None:
        return None
    path = checkpoint_path(name).parent / file_name
    if not path.is_file():
        raise InputError(path, f"edge classifier of model {name!r} not found")
    return path


def model_files(name: str) -> list[Path]:
    """Every weights file of bundled model ``name``: checkpoint, then edge classifier."""
    classifier = edge_classifier_path(name)
    return [checkpoint_path(name)] + ([] if classifier is None else [classifier])


def edge_classifier_for(model: Any) -> Path | None:
    """The bundled edge classifier of ``model`` when it names a bundled EM model, else None
    (paths, modules and predictors carry none)."""
    return edge_classifier_path(model) if is_model_name(model) else None


def load_model(name_or_path: str | Path, **predictor_options: Any) -> "Predictor":
    """A :class:`~microseg.infer.Predictor` for a bundled model's name or a checkpoint / ONNX
    path; ``predictor_options`` go to the Predictor (``tta``, ``tile``, ``backend``, …). An
    unknown name raises :class:`InputError` listing the available names."""
    from microseg.infer.predictor import Predictor

    if is_model_name(name_or_path):
        return Predictor(checkpoint_path(str(name_or_path)), **predictor_options)
    return Predictor(Path(name_or_path).expanduser(), **predictor_options)
