import numpy as np
import pytest
import torch

from microseg.infer.tta import DIHEDRAL, dihedral, dihedral_inverse, with_tta


@pytest.mark.parametrize("k,flip", DIHEDRAL)
def test_inverse_undoes_transform(k, flip):
    array = np.arange(2 * 3 * 5).reshape(2, 3, 5)
    np.testing.assert_array_equal(dihedral_inverse(dihedral(array, k, flip), k, flip), array)


def test_eight_distinct_transforms():
    array = np.arange(16).reshape(4, 4)
    assert len({dihedral(array, k, f).tobytes() for k, f in DIHEDRAL}) == 8


def _equivariant_net() -> torch.nn.Module:
    """A convolution whose kernel is invariant under the dihedral group commutes with it."""
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight[:] = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
    return conv.eval()


@pytest.mark.parametrize("combine", ["mean", "max"])
@pytest.mark.parametrize("shape", [(16, 16), (12, 20)])
def test_equivariant_model_unchanged_by_tta(combine, shape):
    net = _equivariant_net()

    def predict(batch):
        with torch.inference_mode():
            return net(torch.from_numpy(np.ascontiguousarray(batch))).numpy()

    image = np.random.default_rng(0).random((2, 1) + shape, dtype=np.float32)
    np.testing.assert_allclose(with_tta(predict, combine)(image), predict(image), atol=1e-5)


def test_tta_mean_and_max_of_a_non_equivariant_model():
    # the "model" returns the column index: the 8 back-mapped copies differ, so mean ≠ max
    def predict(batch):
        return np.broadcast_to(np.arange(batch.shape[-1], dtype=np.float32), batch.shape).copy()

    image = np.zeros((1, 1, 4, 4), np.float32)
    copies = [dihedral_inverse(predict(dihedral(image, k, f)), k, f) for k, f in DIHEDRAL]
    np.testing.assert_allclose(with_tta(predict, "mean")(image), np.mean(copies, axis=0))
    np.testing.assert_allclose(with_tta(predict, "max")(image), np.max(copies, axis=0))
