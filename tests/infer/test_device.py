"""``device``: ``auto`` takes a GPU only when torch sees one, ``cpu`` always works, ``cuda``
without a GPU is a clear error (Predictor, ``ms.segment``, the trainer, the command line). The
GPU tests run only where ``torch.cuda.is_available()``."""
import numpy as np
import pytest
import torch

import microseg as ms
from microseg import models
from microseg.cli import main
from microseg.data import synthetic
from microseg.errors import ConfigError
from microseg.infer import Predictor, resolve_device
from microseg.infer.device import onnx_device

CUDA = torch.cuda.is_available()
no_gpu = pytest.mark.skipif(CUDA, reason="checks the error raised where torch sees no GPU")
needs_gpu = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (torch.cuda.is_available())")


def _predictor(**options):
    torch.manual_seed(0)
    model = models.build("unet", base_channels=8, depth=3).eval()
    return Predictor(model, meta={"target": {"name": "three_class"}}, **options)


def test_auto_follows_torch_cuda_is_available():
    expected = "cuda" if CUDA else "cpu"
    assert resolve_device("auto").type == expected and resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["gpu", "mps", "cuda0", ""])
def test_unknown_devices_are_refused_naming_the_choices(name):
    with pytest.raises(ConfigError, match="device must be auto, cpu or cuda"):
        resolve_device(name)


@no_gpu
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="'cuda' requested but torch sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        _predictor(device="cuda:0")
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert onnx_device("auto") == torch.device("cpu")
        with pytest.raises(ConfigError, match="onnxruntime has no CUDA provider"):
            _predictor(device="cuda", backend="onnxruntime")


def test_cpu_predictor_runs_on_the_cpu():
    image = synthetic.generate("nuclei2d", seed=0, shape=(64, 64)).image
    predictor = _predictor(device="cpu")
    assert predictor.device == torch.device("cpu") and predictor.run.device.type == "cpu"
    assert all(p.device.type == "cpu" for p in predictor.run.network.parameters())
    np.testing.assert_allclose(predictor.predict(image), _predictor().predict(image), atol=1e-6)


def test_segment_keeps_a_predictor_on_its_device_and_refuses_another():
    image = synthetic.generate("nuclei2d", seed=0, shape=(64, 64)).image
    predictor = _predictor(device="cpu")
    labels = ms.segment(image, predictor, device="cpu", diameter="model")
    np.testing.assert_array_equal(labels, ms.segment(image, predictor, diameter="model"))
    # with a GPU: a CPU predictor asked for cuda; without one: cuda itself is refused
    with pytest.raises(ConfigError, match="cuda"):
        ms.segment(image, predictor, device="cuda")


@no_gpu
def test_the_command_line_reports_a_missing_gpu(tmp_path, capsys):
    from microseg.io.images import write_image

    image = synthetic.generate("nuclei2d", seed=0, shape=(64, 64)).image
    write_image(tmp_path / "a.tif", image)
    code = main(["segment", str(tmp_path / "a.tif"), "--out", str(tmp_path / "out"),
                 "--device", "cuda", "--quiet"])
    assert code == 2 and "no CUDA GPU" in capsys.readouterr().err


def _train_config(**overrides):
    from microseg.train import train_config

    return train_config({"data": {"sources": [{"kind": "folder", "name": "d", "images": "unused",
                                               "labels": "unused"}]},
                         "model": {"name": "unet", "params": {"depth": 2, "base_channels": 4}},
                         "iterations": 2, "batch_size": 1, "crop": 32, **overrides})


@no_gpu
def test_training_on_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    from microseg.data.sample import Sample
    from microseg.train import Datasets, Trainer

    s = synthetic.generate("nuclei2d", seed=0, shape=(40, 40))
    data = Datasets(["d"], [[Sample(s.image[None].astype(np.float32), s.labels, name="a")]],
                    [], [])
    assert Trainer(_train_config(device="cpu"), tmp_path, data).device == torch.device("cpu")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        Trainer(_train_config(device="cuda"), tmp_path, data)


def test_a_resumed_run_may_change_its_device():
    from microseg.config import to_dict
    from microseg.train.config import resume_changes

    recorded = to_dict(_train_config(device="cuda"))
    assert resume_changes(recorded, _train_config(device="cpu")) == []
    assert resume_changes(recorded, _train_config(device="cpu", batch_size=2)) != []


@needs_gpu
def test_gpu_maps_match_cpu_maps():
    image = synthetic.generate("nuclei2d", seed=0, shape=(96, 80)).image
    gpu = _predictor(device="cuda")
    assert gpu.device.type == "cuda"
    assert all(p.device.type == "cuda" for p in gpu.run.network.parameters())
    np.testing.assert_allclose(gpu.predict(image), _predictor(device="cpu").predict(image),
                               atol=1e-3)


@needs_gpu
def test_training_step_runs_on_the_gpu():
    from microseg.losses import build as build_loss
    from microseg.train.step import Batch, optimiser_step

    torch.manual_seed(0)
    model = models.build("unet", base_channels=8, depth=3).to("cuda")
    optimizer = torch.optim.Adam(model.parameters())
    batch = Batch(torch.rand(2, 1, 32, 32), torch.randint(0, 3, (2, 32, 32)))
    result = optimiser_step(model, build_loss("ce").to("cuda"), optimizer, [batch],
                            device=torch.device("cuda"))
    assert np.isfinite(result.loss) and result.images == 2
