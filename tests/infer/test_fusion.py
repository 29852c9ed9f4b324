import torch
from torch import nn

from microseg import models
from microseg.infer.fusion import conv_before_upsample, fold_batch_norm


def _with_statistics(model: nn.Module) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator))
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator))
    return model.eval()


def test_folded_unet_computes_the_same_maps_2d_and_3d():
    for dims, shape in ((2, (2, 1, 40, 48)), (3, (1, 1, 16, 24, 24))):
        torch.manual_seed(0)
        model = _with_statistics(models.build("unet", dims=dims, in_channels=1, out_channels=3,
                                              depth=2, base_channels=8, norm="batch"))
        folded, count = fold_batch_norm(model)
        norms = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
        assert count == norms > 0
        assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in folded.modules())
        x = torch.randn(shape)
        with torch.inference_mode():
            torch.testing.assert_close(folded(x), model(x), atol=1e-4, rtol=1e-4)


def test_the_original_model_is_untouched_and_unpaired_norms_stay():
    net = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4))
    _with_statistics(net)
    folded, count = fold_batch_norm(net)
    assert count == 0 and isinstance(net[0], nn.BatchNorm2d)
    pair = _with_statistics(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)))
    folded, count = fold_batch_norm(pair)
    assert count == 1 and isinstance(pair[1], nn.BatchNorm2d) and isinstance(folded[1], nn.Identity)


def test_bilinear_unet_with_its_convs_moved_before_the_upsampling_computes_the_same_maps():
    for dims, shape in ((2, (2, 1, 40, 48)), (3, (1, 1, 16, 24, 24))):
        torch.manual_seed(0)
        model = _with_statistics(models.build("unet", dims=dims, in_channels=1, out_channels=3,
                                              depth=3, base_channels=8, norm="batch",
                                              up="bilinear"))
        swapped, count = conv_before_upsample(model)
        assert count == 2                                   # one upsampling per decoder level
        ups = [m for m in model.modules() if isinstance(m, nn.Sequential)
               and isinstance(m[0], nn.Upsample)]
        assert len(ups) == 2                                # the original keeps its order
        x = torch.randn(shape)
        with torch.inference_mode():
            torch.testing.assert_close(swapped(x), model(x), atol=1e-5, rtol=1e-5)


def test_only_pointwise_convs_after_commuting_upsamplings_are_moved():
    def pair(mode: str, kernel: int, **options) -> nn.Sequential:
        return nn.Sequential(nn.Upsample(scale_factor=2, mode=mode, **options),
                             nn.Conv2d(3, 5, kernel))
    x = torch.randn(1, 3, 7, 9)
    for net in (pair("bilinear", 1, align_corners=True), pair("nearest", 1),
                pair("bilinear", 1, align_corners=False)):
        swapped, count = conv_before_upsample(net)
        assert count == 1 and isinstance(swapped[0], nn.Conv2d)
        with torch.inference_mode():
            torch.testing.assert_close(swapped(x), net(x), atol=1e-5, rtol=1e-5)
    strided = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(3, 5, 1, stride=2))
    for net in (pair("bilinear", 3), strided,
                nn.Sequential(nn.Upsample(scale_factor=2), nn.ReLU(), nn.Conv2d(3, 5, 1))):
        assert conv_before_upsample(net)[1] == 0
