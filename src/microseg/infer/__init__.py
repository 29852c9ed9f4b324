"""Inference: :class:`Predictor` (checkpoint → maps for images of any size, 2D or 3D), tiled
sliding-window prediction, 8-fold dihedral TTA, slice-wise 3D with z context, ONNX and
TorchScript export (optionally with the normalisation inside, for other tools), an ONNX Runtime
backend, CPU or CUDA (:func:`resolve_device`)."""
from microseg.infer.device import resolve_device
from microseg.infer.onnx import read_onnx
from microseg.infer.predictor import Prediction, Predictor, export_onnx, export_torchscript
from microseg.infer.tiling import predict_tiled
from microseg.infer.tta import with_tta

__all__ = ["Prediction", "Predictor", "export_onnx", "export_torchscript", "predict_tiled",
           "read_onnx", "resolve_device", "with_tta"]
