"""Networks exported for other tools take raw images: the normalisation and padding inside the
graph (:mod:`microseg.infer.standalone`) give the maps microseg's Predictor computes from the
image (numpy normalisation, padding, tiling of one tile), in PyTorch, ONNX Runtime and
TorchScript, at sizes that are not multiples of the divisor."""
import json
import warnings

import numpy as np
import pytest
import torch

from microseg import models
from microseg.data import synthetic
from microseg.errors import InputError
from microseg.infer import export_onnx, export_torchscript, read_onnx
from microseg.infer.predictor import Predictor
from microseg.infer.standalone import percentiles
from microseg.models.checkpoint import save_checkpoint


def _predictor(normalization=None, in_channels=1, tmp_path=None, pad_mode="reflect"):
    torch.manual_seed(0)
    model = models.build("unet", base_channels=8, depth=3, in_channels=in_channels,
                         pad_mode=pad_mode).eval()
    meta = {"target": {"name": "three_class"},
            "normalization": normalization or {"method": "percentile",
                                               "dark_background": True}}
    if tmp_path is None:
        return Predictor(model, meta=meta)
    return Predictor(save_checkpoint(tmp_path / "model.pt", model, meta))


def _nuclei(shape, seed=0, bright_background=False):
    """A synthetic nuclei image ``shape`` (cut from a larger one when a side is below 8 px)."""
    full = tuple(max(n, 8) for n in shape)
    image = synthetic.generate("nuclei2d", seed=seed, shape=full).image.astype(np.float32)
    image = image[:shape[0], :shape[1]]
    return image.max() - image if bright_background else image


def _raw(predictor, image):
    network = predictor.exported_network(raw_input=True)
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    with torch.inference_mode():
        return network(x[None] if image.ndim == 3 else x[None, None])[0].numpy()


@pytest.mark.parametrize("values", [
    np.random.default_rng(0).random((3, 1001), dtype=np.float32) * 1000,
    np.random.default_rng(1).integers(0, 5, (2, 64)).astype(np.float32),   # many ties
    np.arange(7, dtype=np.float32)[None]])
def test_percentiles_are_numpys_linear_percentiles(values):
    got = percentiles(torch.from_numpy(values), (0.01, 0.5, 0.998)).numpy()
    expected = np.percentile(values.astype(np.float64), [1, 50, 99.8], axis=1).T
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("shape, bright", [((77, 101), False), ((64, 90), True),
                                           ((9, 30), False), ((1, 30), False)])
def test_raw_input_network_gives_the_predictors_maps(shape, bright):
    predictor = _predictor()
    image = _nuclei(shape, bright_background=bright)
    prediction = predictor.prediction(image)
    assert prediction.bright_background == bright     # the inversion is exercised both ways
    np.testing.assert_allclose(_raw(predictor, image), prediction.maps, atol=1e-5)


@pytest.mark.parametrize("pad_mode", ["replicate", "constant"])
def test_every_padding_mode_matches_the_predictor(pad_mode):
    predictor = _predictor(pad_mode=pad_mode)
    for shape in ((37, 50), (1, 21)):
        image = _nuclei(shape, seed=4)
        np.testing.assert_allclose(_raw(predictor, image), predictor.predict(image), atol=1e-5)


@pytest.mark.parametrize("normalization", [
    {"method": "percentile", "percentiles": [2.0, 98.0], "per_channel": True},
    {"method": "minmax", "per_channel": False},
    {"method": "none"}])
def test_other_normalisations_and_channels_match_the_predictor(normalization):
    predictor = _predictor(normalization, in_channels=2)
    rng = np.random.default_rng(3)
    image = np.stack([_nuclei((50, 70)), rng.random((50, 70), dtype=np.float32) * 9 + 100])
    maps = predictor.predict(image, channel_axis=0)
    np.testing.assert_allclose(_raw(predictor, image), maps, atol=1e-5)


def test_onnx_with_normalisation_runs_in_onnxruntime_at_any_size(tmp_path):
    import onnx
    import onnxruntime

    predictor = _predictor(tmp_path=tmp_path)
    path = export_onnx(predictor, tmp_path / "raw.onnx", (1, 1, 32, 32), raw_input=True)
    _, meta, layout = read_onnx(path)
    assert layout["raw_input"] and layout["dynamic"] and meta["normalization"]["dark_background"]
    assert "percentile normalisation" in onnx.load(str(path)).doc_string
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape, bright in (((83, 61), False), ((40, 120), True)):
        image = _nuclei(shape, seed=1, bright_background=bright)
        got = session.run(None, {"image": image[None, None]})[0][0]
        np.testing.assert_allclose(got, predictor.predict(image), atol=1e-4)
    batch = np.stack([_nuclei((48, 48), seed=s) * (s + 1) for s in range(2)])[:, None]
    got = session.run(None, {"image": batch})[0]                 # each image normalised alone
    for image, maps in zip(batch[:, 0], got):
        np.testing.assert_allclose(maps, predictor.predict(image), atol=1e-4)
    with pytest.raises(InputError, match="raw images.*checkpoint"):
        Predictor(path)


def test_torchscript_loads_with_torch_jit_and_matches(tmp_path):
    predictor = _predictor(tmp_path=tmp_path)
    raw = export_torchscript(predictor, tmp_path / "raw.pt", (1, 1, 32, 32), raw_input=True)
    plain = export_torchscript(predictor, tmp_path / "net.pt", (1, 1, 32, 32))
    extra = {"microseg.layout": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)          # torch.jit.load is deprecated
        module = torch.jit.load(str(raw), _extra_files=extra)
        network = torch.jit.load(str(plain))
    assert json.loads(extra["microseg.layout"])["raw_input"] is True
    image = _nuclei((70, 45), seed=2)
    with torch.inference_mode():
        got = module(torch.from_numpy(image)[None, None])[0].numpy()
        x = torch.from_numpy(predictor.normalization(image[None]))[None, :, :64, :32]
        net_maps = network(x)[0].numpy()                       # multiples of the divisor
    np.testing.assert_allclose(got, predictor.predict(image), atol=1e-4)
    np.testing.assert_allclose(net_maps, predictor.predict_array(x[0].numpy()), atol=1e-4)
