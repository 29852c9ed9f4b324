"""What a TIFF file says about its pixels besides their values: physical pixel sizes (µm) and
channel names, from the metadata its writer left.

* OME-TIFF: the ``Pixels`` element of the series' ``Image`` in the OME-XML
  (``PhysicalSizeX/Y/Z`` with their units, default µm) and its ``Channel`` names;
* ImageJ: the X / Y resolution tags (pixels per ``unit`` of the ImageJ metadata) and its Z
  ``spacing``;
* other TIFFs: the resolution tags when their unit is a length (centimetre, millimetre,
  micrometre). Dots per inch are left out: image editors write 72 or 300 of them to any file.

A size the file does not give, or gives in an unknown unit (``pixel``), is left out.
"""
from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from microseg.io.spacing import micrometres

#: Significant digits of a pixel size read from resolution tags.
DIGITS = 9
#: TIFF ResolutionUnit values that are lengths (tifffile's RESUNIT), and their names.
RESOLUTION_UNITS = {3: "cm", 4: "mm", 5: "um"}


def tiff_metadata(tif: Any, series: int) -> tuple[dict[str, float], tuple[str, ...]]:
    """Pixel sizes (axis letter → µm) and channel names of series ``series`` of the open
    ``tifffile.TiffFile`` ``tif`` (see the module docstring); empty when it names none."""
    if tif.is_ome:
        found = _ome(tif.ome_metadata, series)
        if found is not None:
            return found
    page = tif.series[series].keyframe
    if tif.is_imagej:
        meta = tif.imagej_metadata or {}
        unit = meta.get("unit")
        sizes = _resolution(page, unit)
        z = micrometres(meta.get("spacing"), unit)
        return sizes | ({} if z is None else {"Z": z}), ()
    return _resolution(page, RESOLUTION_UNITS.get(int(page.resolutionunit))), ()


def _resolution(page: Any, unit: str | None) -> dict[str, float]:
    """Y and X pixel sizes (µm) from the resolution tags (pixels per ``unit``, as rationals of
    32-bit integers: the sizes are given to :data:`DIGITS` significant digits)."""
    sizes = {}
    for letter in "YX":
        tag = page.tags.get(f"{letter}Resolution")
        try:
            pixels, per = (int(v) for v in tag.value)
        except (AttributeError, TypeError, ValueError):
            continue
        size = micrometres(per / pixels, unit) if pixels > 0 and per > 0 else None
        if size is not None:
            sizes[letter] = float(f"{size:.{DIGITS}g}")
    return sizes


def _ome(xml: str | None, series: int) -> tuple[dict[str, float], tuple[str, ...]] | None:
    """Sizes and channel names of image ``series`` of an OME-XML document (None when the
    document or the image cannot be read)."""
    try:
        root = ElementTree.fromstring(xml or "")
    except ElementTree.ParseError:
        return None
    images = root.findall("{*}Image")
    if not 0 <= series < len(images):
        return None
    pixels = images[series].find("{*}Pixels")
    if pixels is None:
        return None
    sizes = {}
    for letter in "ZYX":
        size = micrometres(pixels.get(f"PhysicalSize{letter}"),
                           pixels.get(f"PhysicalSize{letter}Unit", "µm"))
        if size is not None:
            sizes[letter] = size
    names = tuple(channel.get("Name", "") for channel in pixels.findall("{*}Channel"))
    return sizes, names if all(names) else ()
