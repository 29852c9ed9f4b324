"""The architecture of a microseg model in a bioimage.io package (its ``pytorch_state_dict``
weights): this file is copied into the package, and bioimage.io tools call
:func:`microseg_network` with the keyword arguments the package's ``rdf.yaml`` records. It
needs microseg installed (``pip install microseg``); the package's TorchScript and ONNX weights
need nothing but their runtimes.
"""
from __future__ import annotations

from typing import Any, Sequence

from microseg.infer.runners import MapsNetwork
from microseg.models import build


def microseg_network(arch: str, config: dict[str, Any], heads: Sequence[Sequence[Any]],
                     activations: Sequence[str]) -> MapsNetwork:
    """The network ``microseg.models.build(arch, **config)`` followed by the activation of each
    output head: input normalised ``(N, C, *spatial)``, output ``(N, ΣK, *spatial)`` with the
    ``heads`` ``[name, channels]`` concatenated in order (``name`` None for a one-output model)."""
    pairs = [(None if name is None else str(name), int(k)) for name, k in heads]
    return MapsNetwork(build(arch, **config), pairs,
                       dict(zip([name for name, _ in pairs], activations)))
