"""Input of a 2D model applied to a 3D stack slice by slice, with or without z context.

``z_context="pseudocolor"`` gives a 3-channel model Context Aware Pseudocoloring of each slice
(:func:`microseg.preprocess.pseudocolor.context_pseudocolor`: red / blue carry rough regions of
interest of slices ``z − 1`` / ``z + 1``, green the slice itself, each slice scaled to [0, 1]);
it needs a grey stack. Otherwise (``"none"``, a 1-channel model, or a multi-channel stack) every
slice is the plain normalised slice, replicated to the model's channels when it is grey.
"""
from __future__ import annotations

import numpy as np

from microseg.config import check_choice
from microseg.infer.inputs import Normalization, channels_first
from microseg.preprocess.normalize import Levels
from microseg.preprocess.pseudocolor import context_pseudocolor

Z_CONTEXTS = ("pseudocolor", "none")


def check_z_context(z_context: str) -> str:
    check_choice("z_context", z_context, Z_CONTEXTS)
    return z_context


def uses_pseudocolor(z_context: str, channels: int, channel_axis: int | None) -> bool:
    """True when slices are pseudocoloured: asked for, a 3-channel model, a grey stack."""
    return check_z_context(z_context) == "pseudocolor" and channels == 3 and channel_axis is None


def slice_inputs(stack: np.ndarray, channels: int, z_context: str,
                 normalization: Normalization, channel_axis: int | None = None,
                 intensity_range: tuple[float, float] | None = None,
                 levels: Levels | None = None) -> np.ndarray:
    """Network input of every slice of ``stack`` as float32 ``(C, Z, Y, X)``.

    ``stack`` is a grey ``(Z, Y, X)`` stack, or holds ``channels`` channels along
    ``channel_axis``. Pseudocoloured slices are already in [0, 1] and are not normalised again;
    plain slices are normalised over the whole stack with ``normalization`` (with ``levels``,
    those of the larger stack ``stack`` is a block of).
    """
    if uses_pseudocolor(z_context, channels, channel_axis):
        return np.ascontiguousarray(np.moveaxis(context_pseudocolor(stack), 1, 0))
    return normalization(channels_first(stack, channels, channel_axis), intensity_range, levels)
