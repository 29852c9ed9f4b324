"""bioimage.io packages (``microseg export --bioimageio``): valid for bioimageio.spec, tested by
bioimageio.core's own ``test_model`` (which reproduces the test output from the test input with
each weights format and its preprocessing), read back by microseg without running code, and
refused with a clear error when the card is missing or wrong."""
import io
import pathlib
import zipfile

import numpy as np
import pytest
import torch
import yaml

from microseg import models
from microseg.cli import main
from microseg.errors import ConfigError, InputError
from microseg.infer.predictor import Predictor
from microseg.models.checkpoint import save_checkpoint
from microseg.pipelines.bioimageio import write_bioimageio
from microseg.zoo.card import read_card
from microseg.zoo.store import CARDS_DIR

ARCH = {"in_channels": 1, "out_channels": 3, "depth": 3, "base_channels": 8}
POST = {"name": "three_class", "params": {"min_size": 5}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """An untrained small U-Net checkpoint ``tiny.pt`` and its card ``tiny.yaml``."""
    folder = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    model = models.build("unet", **ARCH)
    meta = {"target": {"name": "three_class"}, "object_diameter": 12.0, "post": POST,
            "normalization": {"method": "percentile", "dark_background": True}}
    checkpoint = save_checkpoint(folder / "tiny.pt", model, meta)
    card = yaml.safe_load((CARDS_DIR / "default.yaml").read_text())
    card.update(name="tiny", parameters=models.count_parameters(model),
                architecture={"name": "unet", "config": ARCH}, post={**POST},
                authors=["A. Tester"], spdx_licence="MIT")
    card["input"]["object_diameter_px"] = 12.0
    (folder / "tiny.yaml").write_text(yaml.safe_dump(card, allow_unicode=True))
    return checkpoint, folder / "tiny.yaml"


@pytest.fixture(scope="module")
def package(tiny, tmp_path_factory):
    checkpoint, card = tiny
    return write_bioimageio(checkpoint, tmp_path_factory.mktemp("pkg") / "tiny.zip", card=card)


def _array(package, name):
    with zipfile.ZipFile(package) as archive:
        return np.load(io.BytesIO(archive.read(name)))


def test_package_holds_the_files_and_the_card(package, tiny):
    from bioimageio.spec import load_description
    from bioimageio.spec.model.v0_5 import ModelDescr

    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        rdf = yaml.safe_load(archive.read("rdf.yaml"))
        readme = archive.read("README.md").decode()
    assert {"rdf.yaml", "weights.pt", "weights.torchscript.pt", "weights.onnx",
            "microseg_network.py", "test_input.npy", "test_output.npy", "cover.png",
            "README.md"} <= names
    assert isinstance(load_description(package), ModelDescr)        # valid for bioimageio.spec
    card = read_card(tiny[1])
    assert rdf["format_version"].startswith("0.5") and rdf["license"] == "MIT"
    assert [a["name"] for a in rdf["authors"]] == ["A. Tester"]
    assert {c["doi"] for c in rdf["cite"]} == {d for s in card.training.data for d in s.doi}
    assert set(rdf["weights"]) == {"pytorch_state_dict", "torchscript", "onnx"}
    steps = {p["id"]: p["kwargs"] for p in rdf["inputs"][0]["preprocessing"]}
    assert steps["scale_range"] == {"axes": ["channel", "y", "x"], "min_percentile": 1.0,
                                    "max_percentile": 99.8}
    assert steps["clip"] == {"min": -20.0, "max": 21.0}
    assert rdf["config"]["microseg"]["post"]["name"] == "three_class"
    assert rdf["config"]["microseg"]["post"]["params"] == POST["params"]
    assert rdf["outputs"][0]["axes"][1]["channel_names"] == ["background", "boundary", "cell"]
    assert "## Validation" in readme and "invert such images" in readme


def test_test_output_is_what_microseg_predicts_and_the_package_reads_back(package, tiny):
    image = _array(package, "test_input.npy")[0, 0]
    checkpoint_maps = Predictor(tiny[0]).predict(image)
    np.testing.assert_allclose(_array(package, "test_output.npy")[0], checkpoint_maps, atol=1e-5)
    other = np.random.default_rng(0).random((50, 70), dtype=np.float32)
    np.testing.assert_allclose(Predictor(package).predict(other),
                               Predictor(tiny[0]).predict(other), atol=1e-6)


def test_cover_shows_the_test_image_beside_its_segmentation(package):
    from PIL import Image

    from microseg.io.overlay import render_overlay

    with zipfile.ZipFile(package) as archive:
        cover = np.asarray(Image.open(io.BytesIO(archive.read("cover.png"))))
    image = _array(package, "test_input.npy")[0, 0]
    assert cover.shape == (256, 512, 3)
    np.testing.assert_array_equal(cover[:, :256], render_overlay(image, np.zeros((256, 256),
                                                                               np.uint16)))


@pytest.mark.slow
def test_bioimageio_core_reproduces_the_test_output(package):
    from bioimageio.core import test_model

    summary = test_model(package)
    failed = [(d.name, [e.msg for e in d.errors]) for d in summary.details
              if d.status != "passed"]
    assert summary.status == "passed", failed
    reproduced = [d.name for d in summary.details if d.name.startswith("Reproduce test outputs")]
    assert len(reproduced) == 3                                    # one per weights format


def test_a_checkpoint_without_a_card_or_with_a_wrong_one_is_refused(tiny, tmp_path):
    with pytest.raises(ConfigError, match="needs a model card"):
        write_bioimageio(tiny[0], tmp_path / "a.zip")
    with pytest.raises(ConfigError, match="does not describe this model.*architecture"):
        write_bioimageio(tiny[0], tmp_path / "a.zip", card=CARDS_DIR / "default.yaml")
    with pytest.raises(InputError, match="zip"):
        write_bioimageio(tiny[0], tmp_path / "a.tar", card=tiny[1])
    assert not list(tmp_path.iterdir())


class _Touch:
    """Pickles as a call that creates a file: code a stranger's weights might run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.path),)


def test_reading_a_package_never_runs_its_code(package, tmp_path):
    marker = tmp_path / "ran"
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(hostile, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "weights.pt":
                buffer = io.BytesIO()
                torch.save({"model.x": _Touch(marker)}, buffer)
                data = buffer.getvalue()
            target.writestr(name, data)
    with pytest.raises(InputError, match="hostile.zip.*unreadable weights"):
        Predictor(hostile)
    assert not marker.exists()
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("rdf.yaml", "type: model\nweights: {onnx: {source: w.onnx}}\n")
    with pytest.raises(InputError, match="not a bioimage.io package written by microseg"):
        Predictor(foreign)


def test_export_command_writes_onnx_and_torchscript(tiny, tmp_path, capsys):
    import onnxruntime

    checkpoint = str(tiny[0])
    assert main(["export", checkpoint, "--onnx", str(tmp_path / "m.onnx"),
                 "--torchscript", str(tmp_path / "m.pt")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'm.onnx'}" in out and f"wrote {tmp_path / 'm.pt'}" in out
    image = np.random.default_rng(1).integers(0, 4000, (45, 61)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"),
                                           providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"image": image[None, None]})[0][0],
                               Predictor(tiny[0]).predict(image), atol=1e-4)
    assert main(["export", checkpoint]) == 2
    assert "nothing to export" in capsys.readouterr().err
    assert main(["export", checkpoint, "--bioimageio", str(tmp_path / "p.zip")]) == 2
    assert "needs a model card" in capsys.readouterr().err


@pytest.mark.slow
def test_bundled_default_model_exports_a_package_bioimageio_core_passes(tmp_path, capsys):
    from bioimageio.core import test_model

    from microseg import zoo

    out = tmp_path / "default.zip"
    assert main(["export", "default", "--bioimageio", str(out)]) == 0
    summary = test_model(out)
    assert summary.status == "passed", [(d.name, [e.msg for e in d.errors])
                                        for d in summary.details if d.status != "passed"]
    image = _array(out, "test_input.npy")[0, 0]
    np.testing.assert_allclose(Predictor(out).predict(image),
                               zoo.load_model("default").predict(image), atol=1e-6)
    from PIL import Image

    with zipfile.ZipFile(out) as archive:
        cover = np.asarray(Image.open(io.BytesIO(archive.read("cover.png"))))
    outlines = np.any(cover[:, 256:] != cover[:, :256], axis=-1)
    assert outlines.mean() > 0.02                         # the model found and outlined nuclei
