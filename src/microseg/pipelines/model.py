"""The model a pipeline runs: ``ms.load_model`` and the edge classifier bundled with a model.
Shared by every pipeline (:mod:`~microseg.pipelines.cells`, :mod:`~microseg.pipelines.em`, …)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from microseg.infer.predictor import Predictor

#: ``model="auto"``: the bundled model for the image, chosen by :func:`pick_model`.
AUTO_MODEL = "auto"
#: The bundled models :func:`pick_model` chooses between.
NUCLEI_MODEL, CELLS_MODEL = "default", "cells"


def load_model(model: Any = "default", **options: Any) -> "Predictor":
    """A :class:`~microseg.infer.Predictor` for ``model``: a checkpoint / ONNX path, a
    ``torch.nn.Module``, a Predictor (returned as is), or the name of a bundled model
    (:func:`microseg.zoo.load_model`; an unknown name raises :class:`InputError` listing the
    available ones).

    ``options`` go to the Predictor (``tta``, ``tile``, ``backend``, ``threads``, ``device``, …);
    a Predictor given is returned as it is, and asking it for another ``device`` than its own
    is a :class:`ConfigError`.
    """
    from torch import nn

    from microseg import zoo
    from microseg.infer.predictor import Predictor

    if isinstance(model, Predictor):
        _check_device(model, options.get("device"))
        return model
    if isinstance(model, nn.Module):
        return Predictor(model, **options)
    return zoo.load_model(model, **options)


def _check_device(predictor: "Predictor", device: Any) -> None:
    """Refuse a ``device`` (None: any) that is not where ``predictor`` already runs."""
    if device is None:
        return
    from microseg.errors import ConfigError
    from microseg.infer.device import onnx_device, resolve_device

    wanted = onnx_device(device) if predictor.backend == "onnxruntime" else resolve_device(device)
    if wanted != predictor.device:
        raise ConfigError(f"the predictor given runs on {predictor.device}, not on {wanted}; "
                          f"build it with device={str(device)!r}")


def bundled_edge_classifier(model: Any, pipeline: str, edge_classifier: Any) -> Any:
    """The edge classifier an EM pipeline uses: ``edge_classifier`` when given, else the one
    bundled with ``model`` when it names a bundled EM model (:mod:`microseg.zoo`), else None."""
    if edge_classifier is not None or pipeline == "cells":
        return edge_classifier
    from microseg.zoo import edge_classifier_for

    return edge_classifier_for(model)


def pick_model(image: "np.ndarray", path: str | None = None) -> str:
    """The bundled model for a 2D image ``(Y, X)`` / ``(Y, X, C)``: ``cells`` (whole cells) when
    it looks label-free (phase contrast, DIC; :func:`~microseg.data.modality.looks_label_free`),
    else ``default`` (nuclei in fluorescence, bright-field, H&E). Whole cells in fluorescence
    cannot be told from nuclei by their pixels: name ``cells`` for them."""
    from microseg.data.modality import looks_label_free

    return CELLS_MODEL if looks_label_free(image, path) else NUCLEI_MODEL
