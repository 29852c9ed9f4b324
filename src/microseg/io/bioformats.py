"""Microscope vendor formats (CZI, ND2, LIF, …) and zipped OME-Zarr (``.ozx``) through bioio and
its reader plugins.

bioio is the optional extra ``microseg[formats]`` (bioio with the plugins for OME-TIFF,
OME-Zarr, plain TIFF, ND2 and LIF). bioio-czi is left out of it for its licence (GPL-3): install
it yourself (``pip install bioio-czi``) and bioio finds it. A file whose plugin is missing is
refused with an error naming the file and what to install.

Images come as bioio presents them: lazy ``(T, C, Z, Y, X)`` (``(T, C, Z, Y, X, S)`` for RGB
samples), with the physical pixel sizes bioio reads (micrometres, as its readers report them,
unless it names another unit) and its channel names.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from microseg.errors import InputError
from microseg.io.select import scene_index
from microseg.io.spacing import micrometres

#: Files read through bioio, and the plugin that reads each.
PLUGINS = {".czi": "bioio-czi", ".nd2": "bioio-nd2", ".lif": "bioio-lif",
           ".ozx": "bioio-ome-zarr"}                  # .ozx: a zipped OME-Zarr
#: Why a plugin is not installed with microseg[formats].
NOT_BUNDLED = {"bioio-czi": "its licence is GPL-3, so microseg does not install it"}
PLUGIN_LIST = "https://github.com/bioio-devs/bioio#reader-installation"


def open_bioio(path: Path, scene: int | str | None = None) -> tuple[Any, str, dict[str, float],
                                                                   tuple[str, ...], int]:
    """``scene`` (index or name; default the first) of a file bioio reads → (lazy dask array,
    axis letters, pixel sizes as axis letter → µm, channel names, number of scenes)."""
    image = _bioimage(path)
    scenes = tuple(str(s) for s in image.scenes)
    if scene is not None:
        image.set_scene(scene_index(path, scene, scenes))
    sizes = {}
    for letter in "ZYX":
        unit = _unit(image, letter)
        size = micrometres(getattr(image.physical_pixel_sizes, letter), unit)
        if size is not None:
            sizes[letter] = size
    names = tuple(str(name) for name in image.channel_names or ())
    return image.dask_data, str(image.dims.order), sizes, names, len(scenes)


def _bioimage(path: Path) -> Any:
    """The file opened by bioio, or :class:`InputError` saying what to install."""
    suffix = path.suffix.lower()
    plugin = PLUGINS.get(suffix)
    try:
        from bioio import BioImage
        from bioio_base.exceptions import UnsupportedFileFormatError
    except ImportError:
        if plugin is None:
            raise InputError(path, f"unsupported file type {suffix!r}: microseg reads TIFF, "
                                   f"PNG/JPG/BMP, .npy and OME-Zarr itself, and microscope "
                                   f"formats ({', '.join(PLUGINS)}, …) through bioio: pip "
                                   f"install 'microseg[formats]'") from None
        extra = f" and {plugin}" if plugin in NOT_BUNDLED else ""
        raise InputError(path, f"reading {suffix} files needs bioio: pip install "
                               f"'microseg[formats]'{extra}") from None
    try:
        return BioImage(path)
    except UnsupportedFileFormatError:
        if plugin is None:
            raise InputError(path, f"unsupported file type {suffix!r}: no installed bioio "
                                   f"reader opens it (plugins: {PLUGIN_LIST})") from None
        if importlib.util.find_spec(plugin.replace("-", "_")):
            raise InputError(path, f"{plugin} cannot read this file (damaged, or a variant it "
                                   f"does not support)") from None
        why = NOT_BUNDLED.get(plugin)
        raise InputError(path, f"no installed bioio reader opens {suffix} files: pip install "
                               f"{plugin}" + (f" ({why})" if why else "")) from None


def _unit(image: Any, letter: str) -> str:
    """The unit bioio names for axis ``letter``, micrometres when it names none."""
    try:
        unit = getattr(image.dimension_properties, letter).unit
    except AttributeError:
        unit = None
    return unit or "µm"
