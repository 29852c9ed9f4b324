"""Model cards: every card in the package parses and describes its architecture truthfully; bad
cards are rejected with the file named."""
import pytest
import yaml

from microseg import models
from microseg.errors import ConfigError
from microseg.zoo import card_names
from microseg.zoo.card import ModelCard, read_card
from microseg.zoo.store import CARDS_DIR


def _write(folder, name, data):
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _default_data():
    return yaml.safe_load((CARDS_DIR / "default.yaml").read_text())


def test_the_package_ships_the_default_and_em_cards():
    assert {"default", "em-membrane"} <= set(card_names())


@pytest.mark.parametrize("name", card_names())
def test_card_parameters_and_channels_match_the_architecture_it_names(name):
    card = read_card(CARDS_DIR / f"{name}.yaml")
    assert isinstance(card, ModelCard) and card.name == name
    network = models.build(card.architecture.name, **card.architecture.config)
    assert models.count_parameters(network) == card.parameters
    assert network.in_channels == card.input.channels
    assert card.training.data and all(d.citation and d.licence for d in card.training.data)
    assert (card.edge_classifier is None) == (card.pipeline == "cells")


@pytest.mark.parametrize("name", card_names())
def test_every_card_names_what_an_exported_package_needs(name):
    """Authors, an SPDX licence identifier and the DOIs of every training data source but
    microseg's own synthetic data (bioimage.io packages cite them)."""
    card = read_card(CARDS_DIR / f"{name}.yaml")
    assert card.authors and card.spdx_licence == "BSD-3-Clause"
    assert all(d.doi and all(doi.startswith("10.") for doi in d.doi)
               for d in card.training.data if not d.synthetic)
    assert all(not d.doi for d in card.training.data if d.synthetic)


def test_an_unknown_key_is_rejected_naming_the_file_and_key(tmp_path):
    path = _write(tmp_path, "default", {**_default_data(), "accuracy": 0.99})
    with pytest.raises(ConfigError, match=r"default\.yaml.*unknown key.*accuracy"):
        read_card(path)
    data = _default_data()
    data["training"]["data"][0]["url"] = "https://example.org"
    with pytest.raises(ConfigError, match=r"unknown key.*url"):
        read_card(_write(tmp_path, "default", data))


@pytest.mark.parametrize("change, message", [
    ({"name": "other"}, "differs from the file name"),
    ({"pipeline": "em"}, "pipeline: .em. is not one of cells"),
    ({"edge_classifier": "rf.npz"}, "EM pipelines"),
    ({"parameters": 1.5}, "parameters: must be int, got float"),
    ({"parameters": 0}, "parameters: must be >= 1, got 0"),
    ({"training": {**_default_data()["training"], "commands": "microseg train x.yaml"}},
     "training.commands: expected a list"),
    ({"training": {**_default_data()["training"], "data": []}}, "at least one data set"),
])
def test_bad_values_are_rejected(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        read_card(_write(tmp_path, "default", {**_default_data(), **change}))


def test_a_missing_key_is_rejected(tmp_path):
    data = _default_data()
    del data["summary"]
    with pytest.raises(ConfigError, match=r"default\.yaml.*summary"):
        read_card(_write(tmp_path, "default", data))


def test_a_card_that_misstates_its_checkpoint_is_caught():
    from microseg import zoo

    card = zoo.card("dsb-nuclei")
    meta = zoo.load_model("dsb-nuclei").meta
    assert card.differences(meta) == []
    card.input.object_diameter_px = 40.0
    card.architecture.config = {"base_channels": 8}
    assert card.differences(meta) == [
        "architecture.config: card {'base_channels': 8} ≠ checkpoint {'base_channels': 16}",
        f"input.object_diameter_px: card 40.0 ≠ checkpoint {meta.object_diameter!r}"]
