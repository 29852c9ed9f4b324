"""``microseg tune``: a trained checkpoint's post-processing tuned again on a configuration's
validation data, without training."""
import numpy as np
import pytest
import torch
import yaml

from microseg import cli, models
from microseg.data.synthetic import write_synthetic
from microseg.errors import ConfigError
from microseg.models.checkpoint import load_checkpoint, save_checkpoint
from microseg.train import train, train_config
from microseg.train.retune import tune_checkpoint


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A synthetic folder source (train 000–003, val 004–005), a configuration with post grids
    and a briefly trained 3-class checkpoint that records post parameters of its own."""
    tmp = tmp_path_factory.mktemp("retune")
    data = write_synthetic("nuclei2d", tmp / "data", n=6, seed=4, shape=(48, 48))
    (data / "train.txt").write_text("000\n001\n002\n003\n")
    (data / "val.txt").write_text("004\n005\n")
    cfg = {"data": {"sources": [{"kind": "folder", "name": "synth", "images": str(data / "images"),
                                 "labels": str(data / "labels"),
                                 "ids": {"train": str(data / "train.txt"),
                                         "val": str(data / "val.txt")}}]},
           "model": {"name": "unet", "params": {"depth": 2, "base_channels": 8}},
           "target": {"name": "three_class"}, "iterations": 100, "batch_size": 4, "crop": 32,
           "optimizer": {"name": "adam", "lr": 1e-2}, "threads": 1,
           "validation": {"every": 100}}
    result = train(train_config(cfg), out=tmp / "run", progress=False)
    model, meta, _ = load_checkpoint(result.best)
    checkpoint = save_checkpoint(tmp / "best.pt", model, {
        **meta, "post": {"name": "three_class", "params": {"grow": False}}})
    cfg["validation"].update(tune={"min_size": [0, 5, 100_000]},
                             tune_bright_background={"min_size": [1]})
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    return config, checkpoint


def test_tune_writes_the_best_candidate_and_keeps_the_recorded_post(run, tmp_path, capsys):
    """The grid starts from the checkpoint's own post parameters; the weights are kept."""
    config, checkpoint = run
    before = checkpoint.read_bytes()
    out = tmp_path / "tuned.pt"
    assert cli.main(["tune", str(config), str(checkpoint), "--out", str(out)]) == 0
    assert checkpoint.read_bytes() == before                 # --out leaves the input alone
    model, meta, _ = load_checkpoint(out)
    table = meta["post_tuning"]
    grid = table[:3]
    assert [row["min_size"] for row in grid] == [0, 5, 100_000]
    f1 = [row["f1"] for row in grid]
    best = int(np.argmax(f1))                                 # first of equals
    assert f1[best] > 0.3 and f1[2] == 0                      # min_size 100000 drops every cell
    assert meta["post"]["params"] == {"grow": False, "min_size": [0, 5, 100_000][best]}
    assert meta["metrics"]["f1"] == pytest.approx(f1[best])
    # the synthetic images have no bright background: the override changes nothing, so none
    assert meta["post"]["bright_background"] == {}
    assert [row["f1"] for row in table[3:]] == [f1[best], f1[best]]
    assert "chosen:" in capsys.readouterr().out
    original = load_checkpoint(checkpoint)[0].state_dict()
    assert all(torch.equal(v, original[k]) for k, v in model.state_dict().items())


def test_tune_needs_a_grid(run):
    config, checkpoint = run
    cfg = yaml.safe_load(config.read_text())
    del cfg["validation"]["tune"], cfg["validation"]["tune_bright_background"]
    with pytest.raises(ConfigError, match="no tune"):
        tune_checkpoint(cfg, checkpoint)


def test_tuning_overrides_only_keeps_the_recorded_grid(run, tmp_path):
    config, checkpoint = run
    first = tmp_path / "first.pt"
    tune_checkpoint(config, checkpoint, out=first)
    _, meta, _ = load_checkpoint(first)
    cfg = yaml.safe_load(config.read_text())
    del cfg["validation"]["tune"]
    tuning, path = tune_checkpoint(cfg, first, out=tmp_path / "second.pt")
    _, again, _ = load_checkpoint(path)
    assert again["post"]["params"] == meta["post"]["params"]
    kept = again["post_tuning"][:len(meta["post_tuning"])]
    assert [(r.get("min_size"), r["f1"]) for r in kept] == [(r.get("min_size"), r["f1"])
                                                            for r in meta["post_tuning"]]
    assert len(again["post_tuning"]) == len(meta["post_tuning"]) + 3   # base, unchanged, min 1
