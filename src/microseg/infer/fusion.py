"""Inference-time folding of batch normalisation into the convolution before it.

In eval mode a BatchNorm after a convolution is an affine map per channel, so it can be merged
into the convolution's weights and bias (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`): one
pass over the activations less per layer. On this project's 2-core CPUs that is ~18 % of a
U-Net's forward time at 2048² (profile of ``Predictor.predict``).
"""
from __future__ import annotations

import copy

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def fold_batch_norm(model: nn.Module) -> tuple[nn.Module, int]:
    """An eval-mode copy of ``model`` in which every BatchNorm that directly follows a
    convolution inside an ``nn.Sequential`` is folded into it (and replaced by ``Identity``);
    returns ``(copy, number of folds)``. ``model`` itself is left unchanged."""
    folded = copy.deepcopy(model).eval()
    count = 0
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            if (isinstance(conv, _CONVS) and isinstance(norm, _NORMS)
                    and norm.track_running_stats and conv.out_channels == norm.num_features):
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
                count += 1
    return folded, count
