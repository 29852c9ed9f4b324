"""The training loop on tiny synthetic data: acc gradients, scheme batch composition, resume,
validation, early stopping, the CSV log and the ``microseg train`` command."""
import copy
import csv

import numpy as np
import pytest
import torch
import yaml

from microseg import cli, models
from microseg.data import synthetic
from microseg.data.sample import Sample
from microseg.errors import ConfigError, InputError
from microseg.losses import build as build_loss
from microseg.models.checkpoint import load_checkpoint
from microseg.preprocess import normalize_percentile
from microseg.train import Datasets, Trainer, accumulate_gradients, collate, train, train_config
from microseg.train.step import Batch

SHAPE = (40, 40)


def make_samples(seed, n, ignore=False):
    samples = []
    for i in range(n):
        s = synthetic.generate("nuclei2d", seed=seed + i, shape=SHAPE)
        image = normalize_percentile(s.image.astype(np.float32))[None].astype(np.float32)
        mask = None
        if ignore:
            mask = np.zeros(SHAPE, bool)
            mask[:20] = True  # every 32-pixel crop of 40 overlaps it
        samples.append(Sample(image, s.labels, name=f"n{seed + i}", ignore=mask))
    return samples


def config(n_sources=1, **overrides):
    base = {
        "data": {"sources": [{"kind": "folder", "name": f"d{k}", "images": "unused", "labels": "unused"}
                             for k in range(n_sources)]},
        "model": {"name": "unet", "params": {"depth": 2, "base_channels": 4}},
        "iterations": 6,
        "batch_size": 2,
        "crop": 32,
        "optimizer": {"name": "adam", "lr": 1e-2},
        "schedule": {"name": "cosine", "lr_min": 1e-4},
        "validation": {"every": 3},
        "threads": 1,
        "log_every": 1,
    }
    base.update(overrides)
    return train_config(base)


def datasets(n_sources=1, n=3, ignore=False):
    names = [f"d{k}" for k in range(n_sources)]
    train_sets = [make_samples(100 * k, n, ignore) for k in range(n_sources)]
    val_sets = [make_samples(100 * k + 50, 1) for k in range(n_sources)]
    return Datasets(names, train_sets, val_sets, names)


def test_acc_step_gradient_is_the_sum_of_per_dataset_gradients():
    torch.manual_seed(0)
    model = models.build("unet", in_channels=1, out_channels=3, depth=2, base_channels=4, norm="none")
    loss = build_loss("sum", terms=[{"name": "weighted_ce"}, {"name": "jreg"}])
    batches = [Batch(torch.randn(2, 1, 16, 16), torch.randint(0, 3, (2, 16, 16))) for _ in range(3)]
    expected = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    for batch in batches:  # each dataset's gradient on its own
        single = copy.deepcopy(model)
        loss(single(batch.image), batch.target).backward()
        for name, p in single.named_parameters():
            expected[name] += p.grad
    result = accumulate_gradients(model, loss, batches)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], rtol=1e-5, atol=1e-7)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    torch.optim.SGD(model.parameters(), lr=1.0).step()  # one step on the summed gradient
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), before[name] - expected[name], rtol=1e-5, atol=1e-6)
    assert result.images == 6 and set(result.components) == {"weighted_ce", "jreg"}


@pytest.mark.parametrize(
    "scheme, positions",
    [
        ("acc", [6, 6, 6]),  # 3 steps x one batch of 2 from every dataset
        ("fix", [2, 2, 2]),  # 3 steps in turn
        ("seq", [2, 2, 2]),
        ("mix", [6]),  # one pooled stream
    ],
)
def test_scheme_batch_composition_in_the_trainer(tmp_path, scheme, positions):
    trainer = Trainer(config(3, scheme={"name": scheme}, iterations=3), tmp_path, datasets(3))
    trainer.run(progress=False)
    assert [s.position for s in trainer.streams] == positions
    assert trainer.images_seen == sum(positions)


def test_mix_pools_every_dataset(tmp_path):
    trainer = Trainer(config(2, scheme={"name": "mix"}), tmp_path, datasets(2, n=3))
    assert len(trainer.streams) == 1 and trainer.streams[0].n == 6


def test_resume_gives_identical_weights(tmp_path):
    cfg = config(2, scheme={"name": "shu"}, iterations=8, validation={"every": 4})
    straight = train(cfg, out=tmp_path / "straight", datasets=datasets(2), progress=False)
    half = train(cfg, out=tmp_path / "split", datasets=datasets(2), stop_at=4, progress=False)
    assert half.stopped == "stop_at" and half.iteration == 4
    resumed = train(cfg, out=tmp_path / "split", datasets=datasets(2), resume=half.last, progress=False)
    assert resumed.iteration == 8 and resumed.stopped == "completed"
    a, meta_a, state_a = load_checkpoint(straight.last)
    b, meta_b, state_b = load_checkpoint(resumed.last)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    assert state_a["streams"] == state_b["streams"]
    assert [h["f1"] for h in state_a["history"]] == [h["f1"] for h in state_b["history"]]
    with open(tmp_path / "split" / "log.csv") as handle:
        iterations = [int(row["iteration"]) for row in csv.DictReader(handle)]
    assert iterations == list(range(1, 9))  # the resumed log continues without duplicates


def test_validation_best_checkpoint_and_meta(tmp_path):
    result = train(config(iterations=4, validation={"every": 2}), out=tmp_path, datasets=datasets(),
                   progress=False)
    assert [h["iteration"] for h in result.history] == [2, 4]
    assert result.best is not None and result.best_score == max(h["f1"] for h in result.history)
    model, meta, state = load_checkpoint(result.best)
    assert state == {}
    assert meta["target"]["name"] == "three_class" and meta["in_channels"] == 1
    assert meta["training"]["sources"][0]["train_images"] == 3
    assert meta["training"]["train_data"]["samples"] == 3 and meta["object_diameter"] > 0
    assert set(meta["metrics"]) >= {"f1", "ap", "seg", "iou", "loss"}
    with torch.inference_mode():
        assert model(torch.zeros(1, 1, 40, 40)).shape == (1, 3, 40, 40)


def test_ignored_pixels_reach_the_loss(tmp_path):
    trainer = Trainer(config(), tmp_path, datasets(ignore=True))
    batch = trainer.streams[0].next()
    assert (batch.target == -100).any() and (batch.target >= 0).any()


def test_contact_weight_reaches_the_batches(tmp_path):
    plain = Trainer(config(), tmp_path / "plain", datasets()).streams[0].next()
    weighted = Trainer(config(target={"name": "three_class", "contact_weight": 4.0}),
                       tmp_path / "weighted", datasets()).streams[0].next()
    assert torch.equal(plain.image, weighted.image)        # same crops, only the weight differs
    assert plain.weight is None or set(torch.unique(plain.weight).tolist()) == {1.0}
    assert set(torch.unique(weighted.weight).tolist()) == {1.0, 4.0}


def test_early_stopping(tmp_path):
    cfg = config(iterations=20, validation={"every": 1, "metric": "loss"},
                 early_stopping={"patience": 1, "min_delta": 100.0})
    result = train(cfg, out=tmp_path, datasets=datasets(), progress=False)
    assert result.stopped == "early_stopping" and result.iteration == 3


def test_time_limit_stops_and_validates(tmp_path):
    result = train(config(iterations=50), out=tmp_path, datasets=datasets(), time_limit=0.0,
                   progress=False)
    assert result.stopped == "time_limit" and result.iteration == 1
    assert result.history[-1]["iteration"] == 1


def test_resume_rejects_a_different_model(tmp_path):
    first = train(config(iterations=2), out=tmp_path / "a", datasets=datasets(), progress=False)
    other = config(iterations=2, model={"name": "unet", "params": {"depth": 2, "base_channels": 8}})
    with pytest.raises(InputError, match="architecture differs"):
        train(other, out=tmp_path / "b", datasets=datasets(), resume=first.last, progress=False)
    with pytest.raises(InputError, match="no trainer state"):
        train(config(iterations=2), out=tmp_path / "c", datasets=datasets(), resume=first.best,
              progress=False)


def test_init_starts_from_a_checkpoints_weights(tmp_path):
    first = train(config(iterations=2), out=tmp_path / "a", datasets=datasets(), progress=False)
    trained, _, _ = load_checkpoint(first.last)
    tuned = Trainer(config(init=str(first.last)), tmp_path / "b", datasets())
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(tuned.model.state_dict()[name], value)
    assert tuned.iteration == 0  # the weights only: a new run with its own schedule
    fresh = Trainer(config(), tmp_path / "c", datasets())  # same seed, so the same start
    assert not torch.equal(next(fresh.model.parameters()), next(trained.parameters()))
    other = config(init=str(first.last),
                   model={"name": "unet", "params": {"depth": 2, "base_channels": 8}})
    with pytest.raises(InputError, match="architecture differs"):
        Trainer(other, tmp_path / "d", datasets())
    with pytest.raises(InputError, match="not found"):
        Trainer(config(init=str(tmp_path / "none.pt")), tmp_path / "e", datasets())


def test_checkpoint_from_before_a_config_field_still_matches(tmp_path):
    """A checkpoint whose recorded config lacks a field added later (the U-Net's ``heads``)
    rebuilds with that field's default, so it resumes and initialises a run as before."""
    first = train(config(iterations=2), out=tmp_path / "a", datasets=datasets(), progress=False)
    record = torch.load(first.last, map_location="cpu", weights_only=False)
    assert record["meta"]["config"].pop("heads") is None
    older = tmp_path / "older.pt"
    torch.save(record, older)
    trained, _, _ = load_checkpoint(first.last)
    tuned = Trainer(config(init=str(older)), tmp_path / "b", datasets())
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(tuned.model.state_dict()[name], value)
    resumed = train(config(iterations=3), out=tmp_path / "c", datasets=datasets(),
                    resume=older, progress=False)
    assert resumed.iteration == 3


def test_config_errors():
    with pytest.raises(ConfigError, match="exactly one"):
        config(epochs=3)
    with pytest.raises(ConfigError, match="metric"):
        config(validation={"metric": "accuracy"})
    with pytest.raises(ConfigError, match="unknown key"):
        config(learning_rate=1.0)
    with pytest.raises(ConfigError, match="dataset names"):
        config(validation={"select": []})
    with pytest.raises(ConfigError, match="contact weight must be a number >= 1"):
        config(target={"name": "three_class", "contact_weight": 0.5})


def test_validation_select_must_name_validation_sets(tmp_path):
    with pytest.raises(ConfigError, match=r"\['d7'\].*\['d0', 'd1'\]"):
        Trainer(config(2, validation={"select": ["d1", "d7"]}), tmp_path, datasets(2))
    trainer = Trainer(config(2, validation={"select": ["d1"]}), tmp_path, datasets(2))
    scores = trainer.validate()
    assert scores["f1"] == scores["d1/f1"]  # the headline score is d1's alone


def test_collate_stacks_dicts_and_weights():
    items = [(np.zeros((1, 4, 4), np.float32), {"a": np.zeros((4, 4), np.int64)},
              {"a": np.ones((1, 4, 4), np.float32)}) for _ in range(3)]
    batch = collate(items)
    assert batch.image.shape == (3, 1, 4, 4) and batch.target["a"].shape == (3, 4, 4)
    assert batch.weight["a"].shape == (3, 1, 4, 4)


def test_microseg_train_command_end_to_end(tmp_path, capsys):
    data = synthetic.write_synthetic("nuclei2d", tmp_path / "syn", n=5, seed=0, shape=SHAPE)
    spec = {
        "data": {"root": str(data), "sources": [{
            "kind": "folder", "name": "syn", "images": "images", "labels": "labels",
            "split": {"method": "random", "fractions": {"train": 0.6, "val": 0.4}},
        }]},
        "model": {"name": "unet", "params": {"depth": 2, "base_channels": 4}},
        "iterations": 4, "batch_size": 2, "crop": 32, "threads": 1,
        "validation": {"every": 2}, "log_every": 1, "output": str(tmp_path / "unused"),
    }
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--out", str(out), "--quiet"]) == 0
    assert "completed at iteration 4/4" in capsys.readouterr().out
    assert (out / "best.pt").is_file() and (out / "last.pt").is_file()
    with open(out / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["iteration"] for r in rows] == ["1", "2", "3", "4"] and rows[1]["val_f1"] != ""
    assert cli.main(["train", str(tmp_path / "missing.yaml")]) == 2
    variant = tmp_path / "variant"
    assert cli.main(["train", str(path), "--out", str(variant), "--quiet", "--stop-at", "3",
                     "--set", "model.params.base_channels=6"]) == 0
    assert "stop_at at iteration 3/4" in capsys.readouterr().out
    from microseg.models.checkpoint import load_checkpoint
    model, meta, _ = load_checkpoint(variant / "last.pt")
    assert meta["config"]["base_channels"] == 6
    assert cli.main(["train", str(path), "--set", "model.params=5", "--set", "model.params.x=1"]) == 2


def test_multi_head_model_with_a_target_and_loss_per_head(tmp_path):
    cfg = config(
        iterations=2,
        validation={"every": 2, "post": {"name": "three_class", "head": "pixelwise"}},
        target={"heads": {"pixelwise": {"name": "pixelwise"}, "inner_distance": {"name": "inner_distance"}}},
        model={"name": "panoptic", "params": {"backbone": "resnet10t", "feature_size": 8,
                                              "head_filters": 8, "head_dense": 8}},
        loss={"name": "heads", "params": {"heads": {"pixelwise": {"name": "ce", "weight": 0.01},
                                                    "inner_distance": {"name": "mse"}}}},
    )
    result = train(cfg, out=tmp_path, datasets=datasets(), progress=False)
    assert result.stopped == "completed" and np.isfinite(result.history[-1]["loss"])
    model, meta, _ = load_checkpoint(result.last)
    assert meta["config"]["heads"] == {"pixelwise": 3, "inner_distance": 1}
    assert set(meta["target"]["heads"]) == {"pixelwise", "inner_distance"}
    with open(tmp_path / "log.csv") as handle:
        header = next(csv.reader(handle))
    assert {"pixelwise", "inner_distance"} <= set(header)


def test_post_processing_is_tuned_on_validation_and_stored(tmp_path):
    cfg = config(iterations=4, validation={"every": 2, "tune": {"min_size": [0, 5, 10000]}})
    result = train(cfg, out=tmp_path, datasets=datasets(), progress=False)
    _, meta, _ = load_checkpoint(result.best)
    table = meta["post_tuning"]
    assert [row["min_size"] for row in table] == [0, 5, 10000]
    f1 = [row["f1"] for row in table]
    chosen = meta["post"]["params"]["min_size"]
    assert result.post_params == {"min_size": chosen}
    assert f1[[0, 5, 10000].index(chosen)] == np.nanmax(f1) and chosen != 10000  # removes every cell
    assert meta["metrics"]["f1"] == np.nanmax(f1)
    with pytest.raises(ConfigError, match="score"):
        config(validation={"metric": "loss", "tune": {"min_size": [1]}})


def test_init_layers_matching_copies_shared_weights_into_a_new_head_layout(tmp_path):
    first = train(config(iterations=2), out=tmp_path / "a", datasets=datasets(), progress=False)
    trained = load_checkpoint(first.last)[0].state_dict()
    heads = {"pixelwise": {"name": "three_class"}, "inner_distance": {"name": "inner_distance"}}
    loss = {"name": "heads", "params": {"heads": {"pixelwise": {"name": "ce"},
                                                  "inner_distance": {"name": "mse"}}}}
    tuned = Trainer(config(init=str(first.last), init_layers="matching",
                           init_rename={"head.": "heads.pixelwise."}, target={"heads": heads},
                           loss=loss, validation={"every": 3, "post": {"head": "pixelwise"}}),
                    tmp_path / "b", datasets())
    state = tuned.model.state_dict()
    for name, value in trained.items():
        torch.testing.assert_close(state[name.replace("head.", "heads.pixelwise.", 1)
                                         if name.startswith("head.") else name], value)
    assert state["heads.inner_distance.weight"].shape[0] == 1   # fresh: no source for it
    with pytest.raises(ConfigError, match="init_rename needs init_layers: matching"):
        config(init=str(first.last), init_rename={"head.": "x."})
    with pytest.raises(InputError, match="no weight of the checkpoint matches"):
        Trainer(config(init=str(first.last), init_layers="matching",
                       init_rename={"": "elsewhere."}), tmp_path / "c", datasets())


def test_init_layers_widen_grows_a_checkpoint_without_changing_its_outputs(tmp_path):
    first = train(config(iterations=2), out=tmp_path / "a", datasets=datasets(), progress=False)
    narrow = load_checkpoint(first.last)[0].eval()
    wider = {"name": "unet", "params": {"depth": 2, "base_channels": 6}}
    grown = Trainer(config(init=str(first.last), init_layers="widen", model=wider),
                    tmp_path / "b", datasets()).model.eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(grown(x), narrow(x), atol=1e-5, rtol=1e-5)
    deeper = {"name": "unet", "params": {"depth": 3, "base_channels": 6}}
    with pytest.raises(InputError, match=r"last\.pt.*cannot be widened.*depth"):
        Trainer(config(init=str(first.last), init_layers="widen", model=deeper),
                tmp_path / "c", datasets())
