"""`ModelMeta`: the typed checkpoint record, written on save and checked on load."""
import pytest
import torch

from microseg import models
from microseg.errors import InputError
from microseg.models.checkpoint import load_checkpoint, save_checkpoint
from microseg.models.meta import ModelMeta
from microseg.preprocess.normalize import Normalization


def _model():
    return models.build("unet", depth=2, base_channels=4)


def test_meta_round_trips_through_a_checkpoint_with_unknown_keys_kept(tmp_path):
    meta = {"in_channels": 1, "normalization": {"method": "sequence"}, "object_diameter": 18.5,
            "object_diameter_range": [9.0, 40.0], "post": {"name": "auto", "params": {}},
            "from_a_newer_version": {"x": 1}}
    path = save_checkpoint(tmp_path / "m.pt", _model(), meta)
    _, loaded, _ = load_checkpoint(path)
    assert isinstance(loaded, ModelMeta) and loaded.arch == "unet"
    assert loaded.normalization == Normalization(method="sequence")
    assert loaded.object_diameter_range == (9.0, 40.0)
    assert loaded.extra == {"from_a_newer_version": {"x": 1}}
    again = load_checkpoint(save_checkpoint(tmp_path / "again.pt", _model(), loaded))[1]
    assert again.to_dict() == {**loaded.to_dict(), "created": again.created}
    assert loaded["normalization"]["method"] == "sequence"     # still readable as a mapping


def test_a_corrupt_meta_is_refused_naming_the_file(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _model(), {})
    content = torch.load(path, weights_only=True)
    content["meta"]["object_diameter"] = "twenty"
    torch.save(content, path)
    with pytest.raises(InputError, match=r"m\.pt: checkpoint meta: object_diameter: must be float"):
        load_checkpoint(path)


def test_a_bad_meta_is_refused_before_it_is_written(tmp_path):
    with pytest.raises(InputError, match=r"m\.pt: checkpoint meta: normalization.method: 'zscore'"):
        save_checkpoint(tmp_path / "m.pt", _model(), {"normalization": {"method": "zscore"}})
    assert not (tmp_path / "m.pt").exists()
