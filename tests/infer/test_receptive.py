"""The receptive radius, measured, of networks whose radius is known by construction."""
import pytest
import torch
from torch import nn

from microseg.infer.predictor import Predictor
from microseg.infer.receptive import LARGEST_PROBE, receptive_radius

META = {"activation": "identity", "normalization": {"method": "none"}}


def _predictor(*layers: nn.Module, dims: int = 2) -> Predictor:
    model = nn.Sequential(*layers).eval()
    torch.manual_seed(0)
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Conv3d)):
            nn.init.uniform_(layer.weight, 0.1, 1.0)
    model.dims = dims
    return Predictor(model, meta={**META, "in_channels": 1})


@pytest.mark.parametrize("kernels, radius", [((3,), 1), ((3, 3), 2), ((5, 3, 7), 6)])
def test_stacked_convolutions_reach_the_sum_of_their_half_kernels(kernels, radius):
    layers = [nn.Conv2d(1, 1, k, padding=k // 2) for k in kernels]
    assert receptive_radius(_predictor(*layers)) == (radius, radius)


def test_dilated_and_anisotropic_3d_kernels():
    predictor = _predictor(nn.Conv3d(1, 1, (1, 3, 5), padding=(0, 2, 4), dilation=(1, 2, 2)),
                           dims=3)
    assert receptive_radius(predictor) == (0, 2, 4)


def test_a_global_view_reports_half_the_largest_probe():
    class Mean(nn.Module):
        def forward(self, x):
            return x + x.mean(dim=(2, 3), keepdim=True)

    assert receptive_radius(_predictor(Mean())) == (LARGEST_PROBE[2] // 2,) * 2
