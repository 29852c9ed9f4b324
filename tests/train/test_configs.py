"""Every example configuration in configs/ loads into a TrainConfig and names real components
(validation only: no data is read and no network is trained)."""
from pathlib import Path

import pytest

from microseg import losses, models
from microseg.errors import ConfigError
from microseg.train import LRSchedule, Scheme, train_config
from microseg.train.targets import build_target

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))


def test_there_is_a_config_for_each_paper():
    names = {p.stem for p in CONFIGS}
    assert {"xbnet_universal", "efficientcellseg", "rcspcnet_isbi2012", "mesmer_heads",
            "protoplast_unet", "dsb2018_unet"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_loads_and_its_parts_build(path, monkeypatch):
    monkeypatch.setenv("MICROSEG_DATA", "/data/root")
    config = train_config(path)
    assert config.data.root == "/data/root"
    build_target(config.target.name, config.target.params, config.target.heads)
    losses.build(config.loss.name, **config.loss.params)
    assert config.model.name in models.available()
    epoch = config.iterations_per_epoch or 10
    total = config.total_iterations(epoch)
    LRSchedule(config.schedule, config.optimizer.lr, total, epoch)
    Scheme(config.scheme, len(config.data.sources), total, config.seed)


def test_xbnet_config_is_the_papers_setup():
    config = train_config(next(p for p in CONFIGS if p.stem == "xbnet_universal"))
    assert config.scheme.name == "acc" and len(config.data.sources) == 4
    assert config.schedule.restarts == [100, 300, 700] and config.epochs == 1500
    loss = losses.build(config.loss.name, **config.loss.params)
    assert loss.component_names == ["weighted_ce", "jreg"]


def test_data_root_defaults_to_shared_data(monkeypatch):
    monkeypatch.delenv("MICROSEG_DATA", raising=False)
    config = train_config(CONFIGS[0])
    assert config.data.root == "../shared/data"


def test_a_bad_model_param_fails_when_the_config_is_read_before_any_data(tmp_path):
    config = {"data": {"root": str(tmp_path / "does-not-exist"),
                       "sources": [{"kind": "folder", "images": "i", "labels": "l"}]},
              "iterations": 1, "model": {"name": "unet", "params": {"depht": 3}}}
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['depht'\]"):
        train_config(config)
    config["model"] = {"name": "unett"}
    with pytest.raises(ConfigError, match="model.name: 'unett' is not one of .*unet"):
        train_config(config)


@pytest.mark.parametrize("part, message", [
    ({"loss": {"name": "dice", "params": {"gama": 2}}}, "gama"),
    ({"target": {"name": "three_class", "params": {"erosion": -1}}}, "erosion"),
    ({"validation": {"post": {"name": "components", "params": {"treshold": 0.5}}}}, "treshold"),
])
def test_every_part_is_built_when_the_config_is_read(tmp_path, part, message):
    config = {"data": {"root": str(tmp_path / "does-not-exist"),
                       "sources": [{"kind": "folder", "images": "i", "labels": "l"}]},
              "iterations": 1, **part}
    with pytest.raises(ConfigError, match=message):
        train_config(config)


def test_the_old_model_config_key_still_loads_with_a_warning(tmp_path):
    config = {"data": {"sources": [{"kind": "folder", "images": "i", "labels": "l"}]},
              "iterations": 1, "model": {"name": "unet", "config": {"depth": 2}}}
    with pytest.warns(DeprecationWarning, match="model.params"):
        assert train_config(config).model.params == {"depth": 2}
