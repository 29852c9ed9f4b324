import numpy as np
import pytest
import torch

from microseg.infer.tiling import balanced_tile, predict_tiled, tiles


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


@pytest.mark.parametrize("length, tile, overlap, align", [
    (2048, 512, 64, 16), (4096, 2048, 256, 16), (2049, 2048, 256, 16), (100, 32, 8, 8),
    (70, 32, 8, 1), (5, 64, 8, 4), (512, 512, 64, 16)])
def test_balanced_tiles_cover_with_as_many_windows_and_fewer_pixels(length, tile, overlap, align):
    size = balanced_tile(length, tile, overlap, align)
    assert size % align == 0 and size <= max(tile, -(-length // align) * align)
    balanced = tiles((length,), size, overlap, align)
    plain = tiles((length,), min(tile, -(-length // align) * align), overlap, align)
    assert len(balanced) == len(plain)
    assert len(balanced) * size <= len(plain) * min(tile, -(-length // align) * align)
    covered = np.zeros(balanced[-1].stop[0], int)
    for w in balanced:
        covered[w.slices] += 1
    assert covered[:length].min() >= 1
    assert all(b.start[0] - a.start[0] <= size - overlap + align   # neighbours still overlap
               for a, b in zip(balanced, balanced[1:]))


def test_balanced_tile_by_hand():
    assert balanced_tile(2048, 512, 64, 16) == 464        # 5 windows: (2048 + 4·64) / 5 → 464
    assert balanced_tile(2048, 2048, 256, 16) == 2048     # the whole image
    assert balanced_tile(1000, 2048, 256, 16) == 1008     # short axis: rounded up to align
