"""Edge cut probabilities → multicut costs: ``w = log((1 − p) / p) + log((1 − β) / β)``.

``p`` is the probability that an edge is cut (its two nodes belong to different objects), clipped
to ``[clip, 1 − clip]`` so costs stay finite. Positive costs are attractive. The boundary bias
``β`` shifts every cost: ``β > 0.5`` favours cutting (more, smaller segments), ``β < 0.5`` joining.
"""
from __future__ import annotations

import numpy as np

from microseg.errors import ConfigError, InputError


def probabilities_to_costs(probabilities: np.ndarray, beta: float = 0.5,
                           clip: float = 1e-3) -> np.ndarray:
    """Costs ``(E,)`` float64 from cut probabilities ``(E,)`` in [0, 1].

    >>> probabilities_to_costs(np.array([0.5, 0.1])).round(3).tolist()
    [0.0, 2.197]
    """
    if not 0.0 < beta < 1.0 or not 0.0 < clip < 0.5:
        raise ConfigError(f"edge costs: beta must be in (0, 1) and clip in (0, 0.5), got {beta} "
                          f"and {clip}")
    p = np.asarray(probabilities, dtype=np.float64)
    if not np.all(np.isfinite(p)) or (p.size and (p.min() < 0 or p.max() > 1)):
        raise InputError(None, "edge costs: probabilities must be finite and in [0, 1]")
    p = np.clip(p, clip, 1.0 - clip)
    return np.log((1.0 - p) / p) + np.log((1.0 - beta) / beta)
