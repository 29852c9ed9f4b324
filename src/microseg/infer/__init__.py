"""Inference: :class:`Predictor` (checkpoint → maps for images of any size, 2D or 3D), tiled
sliding-window prediction, 8-fold dihedral TTA, slice-wise 3D with z context, ONNX export and an
ONNX Runtime backend."""
from microseg.infer.onnx import read_onnx
from microseg.infer.predictor import Prediction, Predictor, export_onnx
from microseg.infer.tiling import predict_tiled
from microseg.infer.tta import with_tta

__all__ = ["Prediction", "Predictor", "export_onnx", "predict_tiled", "read_onnx", "with_tta"]
