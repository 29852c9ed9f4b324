"""The model on Dask workers: loaded once per worker process, run with one torch thread each.

A model named by a bundled name or a checkpoint path travels as its :class:`ModelSource` (a few
bytes) and each worker process loads it once (:func:`worker_predictor`, cached); a model given
as an object (a :class:`~microseg.infer.Predictor` or a ``torch.nn.Module``) travels as itself,
scattered once to every worker of a distributed cluster (see :mod:`microseg.scale.cluster`).
"""
from __future__ import annotations

import contextlib
import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from microseg.infer.predictor import Predictor

_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelSource:
    """What a worker loads a model from: ``model`` (bundled name or checkpoint / ONNX path) and
    the predictor ``options`` (``tta``, ``tile``, … as sorted pairs)."""

    model: str
    options: tuple[tuple[str, Any], ...] = ()

    def load(self) -> "Predictor":
        from microseg.pipelines.model import load_model

        return load_model(self.model, **dict(self.options))


@functools.lru_cache(maxsize=4)
def _cached(source: ModelSource) -> "Predictor":
    return source.load()


def worker_predictor(model: "ModelSource | Predictor", threads: int | None = 1) -> "Predictor":
    """The predictor a block runs: ``model`` loaded once per process when it is a
    :class:`ModelSource` (the first block of every worker process loads it), else ``model``
    itself. ``threads``: torch threads of this process (one per worker, so that ``n`` workers
    use ``n`` cores); None leaves them."""
    if threads is not None:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    if not isinstance(model, ModelSource):
        return model
    with _LOCK:
        return _cached(model)


@contextlib.contextmanager
def torch_threads_kept() -> Iterator[None]:
    """This process's torch threads as they were once the block ends (blocks run on threads of
    this process set them to one)."""
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
