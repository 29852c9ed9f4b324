"""The jobs: steps composed into what a user runs. Only this package composes the layers below
it; they never import it.

- ``cells``: image → instance labels (``ms.segment``);
- ``model``: the network a pipeline runs (``ms.load_model``);
- ``em``: EM image → membrane map → region graph → multicut (``--pipeline em-mc|em-lmc``,
  ``microseg train-edges``);
- ``files``: input files → label TIFF, overlay and measurement CSV per image, resumable
  (``microseg segment``);
- ``ctc``: a Cell Tracking Challenge sequence segmented and tracked (``microseg ctc``);
- ``export``: a model as ONNX / TorchScript taking raw images, or as a bioimage.io package
  (``bioimageio``) (``microseg export``);
- ``names``: the one list of pipeline names, :data:`PIPELINES`.
"""
from microseg.pipelines.names import PIPELINES

__all__ = ["PIPELINES"]
