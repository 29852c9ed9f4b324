import numpy as np
import pytest
import torch

from microseg.infer.tiling import predict_tiled, tiles


def _small_net(pool: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    layers = [torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU()]
    if pool:
        layers += [torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 4, 3, padding=1),
                   torch.nn.Upsample(scale_factor=2)]
    layers += [torch.nn.Conv2d(4, 3, 3, padding=1)]
    return torch.nn.Sequential(*layers).eval()


def _as_fn(net: torch.nn.Module):
    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(batch)).numpy()
    return predict


@pytest.mark.parametrize("shape", [(97, 131), (64, 64), (1, 50), (5, 3), (200, 33)])
@pytest.mark.parametrize("pool", [False, True])
def test_tiled_matches_whole_image(shape, pool):
    align = 2 if pool else 1
    image = np.random.default_rng(1).random((2,) + shape, dtype=np.float32)
    net = _small_net(pool)
    predict = _as_fn(net)
    padded_shape = tuple(-(-n // align) * align for n in shape)
    pad = [(0, 0)] + [(0, p - n) for p, n in zip(padded_shape, shape)]
    mode = "reflect" if all(after < n for n, (_, after) in zip(shape, pad[1:])) else "edge"
    whole = predict(np.pad(image, pad, mode=mode)[None])[0]
    whole = whole[(slice(None),) + tuple(slice(0, n) for n in shape)]
    tiled = predict_tiled(image, predict, tile=32, overlap=16, align=align, batch_size=3)
    assert tiled.shape == (3,) + shape
    np.testing.assert_allclose(tiled, whole, atol=1e-3)


def test_tiles_cover_image_and_are_aligned():
    windows = tiles((100, 70), 32, 8, align=8)
    covered = np.zeros((104, 72), dtype=int)
    for w in windows:
        assert all(s % 8 == 0 for s in w.start)
        covered[w.slices] += 1
    assert covered[:100, :70].min() >= 1


def test_progress_reports_every_window():
    seen = []
    predict_tiled(np.zeros((1, 70, 70), np.float32), lambda b: b, tile=32, overlap=8, align=1,
                  batch_size=2, progress=seen.append)
    assert seen[-1] == len(tiles((70, 70), 32, 8, align=1))
