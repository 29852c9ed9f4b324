"""Finding bundled models: the weights folder and its override, names versus paths, and the
error for an unknown name."""
import numpy as np
import pytest

import microseg as ms
from microseg import zoo
from microseg.errors import InputError
from microseg.infer.predictor import Predictor
from microseg.pipelines.model import bundled_edge_classifier
from microseg.zoo.store import PACKAGE_DIR


def test_the_default_and_em_models_are_bundled():
    """Fails until the checkpoints are in microseg/zoo/weights (or MICROSEG_ZOO_DIR)."""
    assert {"default", "em-membrane"} <= set(zoo.available())


def test_the_shipped_weights_folder_is_in_the_package(monkeypatch):
    monkeypatch.delenv(zoo.ENV_VAR, raising=False)
    assert zoo.weights_dir() == PACKAGE_DIR / "weights"


def test_the_override_folder_decides_what_is_available(untrained_zoo, tmp_path_factory,
                                                       monkeypatch):
    assert zoo.available() == ["default"]
    assert zoo.checkpoint_path("default") == untrained_zoo / "default.pt"
    predictor = zoo.load_model("default", tta="mean", tile=128)
    assert isinstance(predictor, Predictor) and predictor.source == untrained_zoo / "default.pt"
    assert predictor.tta == "mean" and predictor.tile == 128
    assert ms.load_model("default").source == untrained_zoo / "default.pt"
    monkeypatch.setenv(zoo.ENV_VAR, str(tmp_path_factory.mktemp("empty")))
    assert zoo.available() == []
    with pytest.raises(InputError, match="available: none"):
        zoo.load_model("default")


def test_an_unknown_name_lists_the_available_ones(untrained_zoo):
    for call in (zoo.load_model, zoo.card, ms.load_model):
        with pytest.raises(InputError, match=r"no-such-model: no bundled model.*available: "
                                             r"default\."):
            call("no-such-model")
    with pytest.raises(InputError, match="no bundled model"):
        ms.segment(np.zeros((8, 8)), "no-such-model")


def test_paths_are_checkpoints_not_names(untrained_zoo, tmp_path, monkeypatch):
    assert zoo.is_model_name("default") and zoo.is_model_name("em-membrane")
    assert not any(zoo.is_model_name(m) for m in ("best.pt", "runs/best", "model.onnx", 3))
    with pytest.raises(InputError, match="checkpoint not found"):
        ms.load_model(tmp_path / "missing.pt")
    monkeypatch.chdir(untrained_zoo)                   # a file called like a name is a file
    (untrained_zoo / "other").write_bytes((untrained_zoo / "default.pt").read_bytes())
    assert not zoo.is_model_name("other")
    assert ms.load_model("other").source.name == "other"


def test_only_bundled_em_models_bring_an_edge_classifier(untrained_zoo, tmp_path):
    assert zoo.edge_classifier_for("default") is None
    assert zoo.edge_classifier_for(tmp_path / "em.pt") is None
    assert bundled_edge_classifier("default", "em-lmc", None) is None
    given = tmp_path / "rf.npz"
    assert bundled_edge_classifier("em-membrane", "em-lmc", given) == given
    assert bundled_edge_classifier("em-membrane", "cells", None) is None
