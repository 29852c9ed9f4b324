"""Segmentation networks built from small blocks, looked up by name.

>>> from microseg import models
>>> models.available()
['efficientcellseg', 'panoptic', 'rcspcnet', 'unet', 'xbnet']
>>> net = models.build("xbnet")             # XB-Net: 1 grey channel → 3 classes
>>> models.count_parameters(net)
11375683

Every model takes ``(N, C, Y, X)`` (``(N, C, Z, Y, X)`` for a 3D U-Net) of any size and returns
logits at the input size (``panoptic``: a dict head → tensor); softmax / sigmoid belong to the
loss and the predictor.
"""
from microseg.models.base import SegmentationModel, crop_output, pad_to_multiple
from microseg.models.efficientcellseg import EfficientCellSeg, EfficientCellSegConfig
from microseg.models.panoptic import PanopticConfig, PanopticNet
from microseg.models.rcspcnet import RCSPCNet, RCSPCNetConfig
from microseg.models.registry import MODELS, available, build, count_parameters
from microseg.models.unet import XBNET, UNet, UNetConfig
from microseg.models.weights import load_encoder_weights, torchvision_efficientnet_to_timm

__all__ = [
    "MODELS",
    "XBNET",
    "EfficientCellSeg",
    "EfficientCellSegConfig",
    "PanopticConfig",
    "PanopticNet",
    "RCSPCNet",
    "RCSPCNetConfig",
    "SegmentationModel",
    "UNet",
    "UNetConfig",
    "available",
    "build",
    "count_parameters",
    "crop_output",
    "load_encoder_weights",
    "pad_to_multiple",
    "torchvision_efficientnet_to_timm",
]
