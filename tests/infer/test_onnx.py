import numpy as np
import pytest
import torch
from torch import nn

from microseg import models
from microseg.errors import InputError
from microseg.infer import export_onnx, read_onnx
from microseg.infer.predictor import Predictor
from microseg.models.checkpoint import save_checkpoint


def _unet() -> nn.Module:
    torch.manual_seed(0)
    return models.build("unet", base_channels=8, depth=3).eval()


class SizeDependent(nn.Module):
    """Adds the input width as a number: a trace freezes it, so the graph is size-specific."""

    in_channels = 1

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        return self.conv(x) + float(x.shape[-1]) / 100.0


def test_onnxruntime_gives_the_same_maps_as_torch(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", _unet(), {"target": {"name": "three_class"}})
    image = np.random.default_rng(0).random((77, 101)).astype(np.float32)
    torch_maps = Predictor(path, tile=64, overlap=32).predict(image)
    ort = Predictor(path, tile=64, overlap=32, backend="onnxruntime")
    np.testing.assert_allclose(ort.predict(image), torch_maps, atol=1e-4)
    small = image[:13, :9]                   # smaller than a tile, not a multiple of the divisor
    np.testing.assert_allclose(ort.predict(small),
                               Predictor(path, tile=64).predict(small), atol=1e-4)


def test_exported_file_carries_its_meta_and_predicts_alone(tmp_path):
    meta = {"target": {"name": "three_class"}, "object_diameter": 12.0,
            "normalization": {"method": "minmax"}}
    predictor = Predictor(_unet(), meta=meta, tile=64, overlap=32)
    path = export_onnx(predictor, tmp_path / "model.onnx", (1, 1, 64, 64))
    _, stored, layout = read_onnx(path)
    assert stored["object_diameter"] == 12.0 and layout["dynamic"] is True
    loaded = Predictor(path, tile=64, overlap=32)
    assert loaded.backend == "onnxruntime" and loaded.divisor == 4
    image = np.random.default_rng(1).integers(0, 1000, (90, 70)).astype(np.uint16)
    np.testing.assert_allclose(loaded.predict(image, diameter=6.0),
                               predictor.predict(image, diameter=6.0), atol=1e-4)


def test_size_specific_graph_is_exported_per_tile_size(tmp_path):
    model = SizeDependent().eval()
    image = np.random.default_rng(2).random((40, 50)).astype(np.float32)
    torch_maps = Predictor(model, tile=32, overlap=8).predict(image)
    ort = Predictor(model, tile=32, overlap=8, backend="onnxruntime")
    np.testing.assert_allclose(ort.predict(image), torch_maps, atol=1e-4)
    np.testing.assert_allclose(ort.predict(image[:20, :10]),
                               Predictor(model, tile=32).predict(image[:20, :10]), atol=1e-4)
    path = export_onnx(model, tmp_path / "fixed.onnx", (1, 1, 32, 32))
    assert read_onnx(path)[2]["dynamic"] is False
    with pytest.raises(InputError, match="exported for"):
        Predictor(path).predict(image[:20, :10])


def test_export_checks_the_example_shape(tmp_path):
    with pytest.raises(InputError, match="example shape"):
        export_onnx(_unet(), tmp_path / "m.onnx", (1, 3, 64, 64))
    with pytest.raises(InputError, match="not found"):
        read_onnx(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(InputError):
        Predictor(tmp_path / "junk.onnx")
