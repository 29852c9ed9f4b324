"""A weights folder made on the spot: ``MICROSEG_ZOO_DIR`` pointing at a folder holding a
``default.pt`` with the architecture of the ``default`` card and untrained weights, so the zoo's
lookup, errors and commands are tested whether or not real weights are bundled."""
import pytest
import torch

from microseg import models, zoo
from microseg.models.checkpoint import save_checkpoint
from microseg.zoo.card import read_card
from microseg.zoo.store import CARDS_DIR


@pytest.fixture
def untrained_zoo(tmp_path, monkeypatch):
    """The weights folder (only ``default.pt``); ``MICROSEG_ZOO_DIR`` points at it."""
    card = read_card(CARDS_DIR / "default.yaml")
    torch.manual_seed(0)
    model = models.build(card.architecture.name, **card.architecture.config)
    save_checkpoint(tmp_path / "default.pt", model, {"target": {"name": "three_class"}})
    monkeypatch.setenv(zoo.ENV_VAR, str(tmp_path))
    return tmp_path
