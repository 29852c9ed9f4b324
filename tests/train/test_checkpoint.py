"""Checkpoint round trip: the reloaded model gives bit-identical outputs; bad files are rejected."""
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from microseg import __version__, models
from microseg.errors import InputError
from microseg.models.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint


def tiny_unet(seed=0):
    torch.manual_seed(seed)
    return models.build("unet", in_channels=1, out_channels=3, depth=3, base_channels=8)


def test_round_trip_is_bit_identical(tmp_path):
    model = tiny_unet()
    # make batch-norm statistics non-trivial so buffers matter too
    model.train()
    model(torch.randn(4, 1, 32, 32))
    model.eval()
    meta = {
        "in_channels": 1,
        "normalization": {"method": "percentile", "percentiles": (1.0, 99.8)},
        "target": {"name": "three_class"},
        "object_diameter": np.float32(17.5),
        "training": {"images": Path("/data/dsb")},
        "metrics": {"f1": 0.8},
    }
    path = save_checkpoint(tmp_path / "model.pt", model, meta, iteration=7)
    loaded, loaded_meta, state = load_checkpoint(path)
    x = torch.randn(2, 1, 45, 37)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))
    assert loaded_meta["arch"] == "unet" and loaded_meta["config"] == model.config
    assert loaded_meta["normalization"]["percentiles"] == [1.0, 99.8]
    assert loaded_meta["object_diameter"] == pytest.approx(17.5)
    assert loaded_meta["training"]["images"] == "/data/dsb"
    assert loaded_meta["microseg_version"] == __version__
    assert state == {"iteration": 7}
    assert not loaded.training


def test_trainer_state_round_trip(tmp_path):
    model = tiny_unet()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 1, 16, 16)).sum().backward()
    optimizer.step()
    state = {"optimizer": optimizer.state_dict(), "rng": {"torch": torch.get_rng_state()}}
    save_checkpoint(tmp_path / "last.pt", model, {}, **state)
    _, _, loaded = load_checkpoint(tmp_path / "last.pt")
    fresh = torch.optim.AdamW(tiny_unet(1).parameters(), lr=1e-3)
    fresh.load_state_dict(loaded["optimizer"])
    first = next(iter(loaded["optimizer"]["state"].values()))["exp_avg"]
    assert torch.equal(first, next(iter(optimizer.state.values()))["exp_avg"])
    assert torch.equal(loaded["rng"]["torch"], state["rng"]["torch"])


def test_missing_corrupt_and_foreign_files_name_the_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "absent.pt")
    corrupt = tmp_path / "corrupt.pt"
    save_checkpoint(corrupt, tiny_unet(), {})
    corrupt.write_bytes(corrupt.read_bytes()[:200])
    with pytest.raises(InputError, match="corrupt.pt"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": tiny_unet().state_dict()}, foreign)
    with pytest.raises(InputError, match="foreign.pt: not a microseg checkpoint"):
        load_checkpoint(foreign)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(InputError, match="notes.pt"):
        read_checkpoint(text)


def test_pickled_code_is_refused(tmp_path):
    evil = tmp_path / "evil.pt"

    class Payload:
        def __reduce__(self):
            return (print, ("executed",))

    evil.write_bytes(pickle.dumps({"format": "microseg-checkpoint", "x": Payload()}, protocol=2))
    with pytest.raises(InputError, match="evil.pt"):
        load_checkpoint(evil)


def test_weights_that_do_not_fit_are_rejected(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", tiny_unet(), {})
    content = torch.load(path, weights_only=True)
    content["meta"]["config"]["base_channels"] = 16
    torch.save(content, path)
    with pytest.raises(InputError, match="do not fit"):
        load_checkpoint(path)


def test_meta_must_be_plain_data(tmp_path):
    with pytest.raises(InputError, match="meta.extra"):
        save_checkpoint(tmp_path / "model.pt", tiny_unet(), {"extra": object()})
    assert not (tmp_path / "model.pt").exists()
    with pytest.raises(InputError, match="arch"):
        save_checkpoint(tmp_path / "model.pt", torch.nn.Conv2d(1, 1, 1), {})
