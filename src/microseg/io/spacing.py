"""Physical pixel sizes: lengths in the units files name, converted to micrometres (µm).

Files name their length units in several ways: OME-XML symbols (``µm``, ``nm``, ``Å``), OME-NGFF
names (``micrometer``, ``nanometer``) and ImageJ's free text (``micron``, ``um``, ``\\u00B5m``).
:func:`micrometres` reads them all; an unknown unit (``pixel``, ``inch`` of a scanner, …) gives
None, so no spacing is ever made up.

>>> micrometres(650, "nm")
0.65
>>> micrometres(0.65, "micrometer"), micrometres(1.0, "pixel")
(0.65, None)
"""
from __future__ import annotations

import math
from typing import Any, Mapping

#: Powers of ten from each unit to micrometres, by the names files use (lower case: OME symbols,
#: NGFF names, ImageJ text).
UNITS = {
    **dict.fromkeys(("µm", "μm", "um", "micron", "microns", "micrometer", "micrometre",
                     "micrometers", "micrometres", "\\u00b5m"), 0),
    **dict.fromkeys(("nm", "nanometer", "nanometre", "nanometers", "nanometres"), -3),
    **dict.fromkeys(("å", "angstrom", "ångström"), -4),
    **dict.fromkeys(("pm", "picometer", "picometre"), -6),
    **dict.fromkeys(("mm", "millimeter", "millimetre", "millimeters", "millimetres"), 3),
    **dict.fromkeys(("cm", "centimeter", "centimetre", "centimeters", "centimetres"), 4),
    **dict.fromkeys(("m", "meter", "metre", "meters", "metres"), 6),
}
#: Axes that have a physical pixel size, in the order spacing tuples list them.
SPATIAL = "ZYX"


def micrometres(value: Any, unit: str | None) -> float | None:
    """``value`` in ``unit`` as micrometres, or None when the unit is unknown or the value is
    not a positive finite number."""
    power = UNITS.get(str(unit).strip().lower()) if unit is not None else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if power is None or not math.isfinite(number) or number <= 0:
        return None
    return number * 10 ** power if power >= 0 else number / 10 ** -power  # exact for 650 nm


def spacing_of(axes: str, sizes: Mapping[str, float]) -> tuple[float, ...] | None:
    """The pixel size (µm) of each spatial axis of ``axes`` (``Z``, ``Y``, ``X`` in their
    order), from ``sizes`` (axis letter → µm); None when one of them is not known.

    >>> spacing_of("CZYX", {"Z": 2.0, "Y": 0.65, "X": 0.65})
    (2.0, 0.65, 0.65)
    >>> spacing_of("ZYX", {"Y": 0.65, "X": 0.65}) is None
    True
    """
    spatial = [letter for letter in axes if letter in SPATIAL]
    if not spatial or any(letter not in sizes for letter in spatial):
        return None
    return tuple(float(sizes[letter]) for letter in spatial)
