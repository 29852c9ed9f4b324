import torch

from microseg import cli, models
from microseg.models.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from microseg.zoo.pack import pack_checkpoint


def _trained_like(tmp_path):
    torch.manual_seed(0)
    model = models.build("unet", in_channels=1, out_channels=3, depth=2, base_channels=8)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(1, 1, 32, 32)).sum().backward()
    optimizer.step()
    path = save_checkpoint(tmp_path / "last.pt", model, {"target": {"name": "three_class"}},
                           optimizer=optimizer.state_dict())
    return model.eval(), path


def test_packing_drops_trainer_state_and_keeps_the_model(tmp_path):
    model, path = _trained_like(tmp_path)
    packed = pack_checkpoint(path, tmp_path / "packed.pt")
    content = read_checkpoint(packed)
    assert content["state"] == {} and content["meta"]["target"] == {"name": "three_class"}
    assert packed.stat().st_size < path.stat().st_size / 2
    x = torch.randn(1, 1, 48, 48)
    with torch.inference_mode():
        torch.testing.assert_close(load_checkpoint(packed)[0](x), model(x))


def test_half_precision_halves_the_file_and_loads_as_float32(tmp_path, capsys):
    model, path = _trained_like(tmp_path)
    full = pack_checkpoint(path, tmp_path / "full.pt")
    assert cli.main(["models", "pack", str(path), str(tmp_path / "half.pt"), "--half"]) == 0
    assert "half.pt" in capsys.readouterr().out
    half = tmp_path / "half.pt"
    assert half.stat().st_size < full.stat().st_size

    def float_bytes(file):
        weights = read_checkpoint(file)["weights"].values()
        return sum(w.nbytes for w in weights if w.is_floating_point()), {
            w.dtype for w in weights if w.is_floating_point()}
    assert float_bytes(half) == (float_bytes(full)[0] // 2, {torch.float16})
    loaded, meta, _ = load_checkpoint(half)
    assert meta["weights_dtype"] == "float16"
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.randn(1, 1, 48, 48)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), model(x), atol=2e-2, rtol=2e-2)
    assert cli.main(["models", "pack", str(path)]) == 2
