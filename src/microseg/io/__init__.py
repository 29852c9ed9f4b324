"""Readers and writers for the file formats of the field (see ARCHITECTURE.md, ``io/``).

Every labelled format offers ``<format>_items(src, ...) -> list[LabelledItem]`` (one shape, many
formats); :func:`convert` writes any of them as plain image/label TIFF folders.
"""
from microseg.io.atomic import atomic_path
from microseg.io.coco import CocoDataset, annotations_to_labels, coco_items, labels_to_coco, \
    read_coco, write_coco
from microseg.io.convert import SOURCES, convert, source_items
from microseg.io.ctc import (
    CTCFrame,
    CTCGroundTruth,
    CTCSequence,
    ctc_items,
    find_sequences,
    read_ctc_result,
    read_track_file,
    write_ctc_result,
    write_ctc_sequence,
    write_track_file,
)
from microseg.io.folders import folder_items, list_images, pair_by_label_stem, pair_by_stem, \
    read_id_list, read_pair
from microseg.io.images import (
    IMAGE_SUFFIXES,
    as_labels,
    check_same_shape,
    read_image,
    read_image_axes,
    read_labels,
    write_image,
    write_labels,
)
from microseg.io.isbi import isbi_items, membrane_to_instances, read_em_stack
from microseg.io.items import LabelledItem
from microseg.io.omezarr import ome_axes, open_ome_zarr, read_ome_zarr
from microseg.io.overlay import label_colours, render_overlay, write_overlay

__all__ = [
    "CTCFrame",
    "CTCGroundTruth",
    "CTCSequence",
    "CocoDataset",
    "IMAGE_SUFFIXES",
    "LabelledItem",
    "SOURCES",
    "annotations_to_labels",
    "as_labels",
    "atomic_path",
    "check_same_shape",
    "coco_items",
    "convert",
    "ctc_items",
    "find_sequences",
    "folder_items",
    "isbi_items",
    "label_colours",
    "labels_to_coco",
    "list_images",
    "membrane_to_instances",
    "ome_axes",
    "open_ome_zarr",
    "pair_by_label_stem",
    "pair_by_stem",
    "read_coco",
    "read_ctc_result",
    "read_em_stack",
    "read_id_list",
    "read_image",
    "read_image_axes",
    "read_labels",
    "read_ome_zarr",
    "read_pair",
    "read_track_file",
    "render_overlay",
    "source_items",
    "write_coco",
    "write_ctc_result",
    "write_ctc_sequence",
    "write_image",
    "write_labels",
    "write_overlay",
    "write_track_file",
]
