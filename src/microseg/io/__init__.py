"""Readers and writers for the file formats of the field (see ARCHITECTURE.md, ``io/``)."""
from microseg.io.atomic import atomic_path
from microseg.io.images import (
    IMAGE_SUFFIXES,
    as_labels,
    check_same_shape,
    read_image,
    read_labels,
    write_image,
    write_labels,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "as_labels",
    "atomic_path",
    "check_same_shape",
    "read_image",
    "read_labels",
    "write_image",
    "write_labels",
]
