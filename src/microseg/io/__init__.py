"""Readers and writers for the file formats of the field; no model or metric logic.

:func:`read_image` reads one image with its axes, pixel size (µm) and channel names
(:class:`Image`), from TIFF (OME, ImageJ), PNG/JPG, ``.npy``, OME-Zarr and, through bioio,
CZI / ND2 / LIF; :func:`read_array` gives the pixels as stored. Every labelled format offers
``<format>_items(src, ...) -> list[LabelledItem]`` (one shape, many formats); :func:`convert`
writes any of them as plain image/label TIFF folders. Helpers of the readers (folder listing,
OME-Zarr axes, atomic writes, …) are in the submodules.
"""
from microseg.io.coco import coco_items, labels_to_coco, read_coco, write_coco
from microseg.io.convert import convert
from microseg.io.ctc import CTCSequence, ctc_items, find_sequences, read_ctc_result, \
    read_track_file, write_ctc_result, write_ctc_sequence, write_track_file
from microseg.io.folders import folder_items
from microseg.io.images import Image, read_array, read_image, read_labels, write_image, \
    write_labels
from microseg.io.isbi import isbi_items, membrane_to_instances, read_em_stack
from microseg.io.items import LabelledItem
from microseg.io.omezarr import read_ome_zarr
from microseg.io.overlay import render_overlay, write_overlay

__all__ = [
    "CTCSequence",
    "Image",
    "LabelledItem",
    "coco_items",
    "convert",
    "ctc_items",
    "find_sequences",
    "folder_items",
    "isbi_items",
    "labels_to_coco",
    "membrane_to_instances",
    "read_array",
    "read_coco",
    "read_ctc_result",
    "read_em_stack",
    "read_image",
    "read_labels",
    "read_ome_zarr",
    "read_track_file",
    "render_overlay",
    "write_coco",
    "write_ctc_result",
    "write_ctc_sequence",
    "write_image",
    "write_labels",
    "write_overlay",
    "write_track_file",
]
