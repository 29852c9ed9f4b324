"""OME-NGFF writing: validated by ome-zarr-models, opened by ome-zarr-py's reader."""
import numpy as np
import pytest
import zarr
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader

from microseg.errors import InputError
from microseg.io.ngff import write_ngff_image, write_ngff_labels

from .test_outlines import random_labels


def _validate(path, version):
    """ome-zarr-models' pydantic models of the image (with its labels group) and label image."""
    if version == "0.4":
        from ome_zarr_models.v04 import Image
        from ome_zarr_models.v04.image_label import ImageLabel
    else:
        from ome_zarr_models.v05 import Image
        from ome_zarr_models.v05.image_label import ImageLabel
    group = zarr.open_group(str(path), mode="r")
    Image.from_zarr(group)
    return ImageLabel.from_zarr(group["labels/cells"])


def _nodes(path):
    """ome-zarr-py's reader: path → (data levels, metadata) per node."""
    return {str(node.zarr.path if hasattr(node.zarr, "path") else node.zarr).rstrip("/"):
            node for node in Reader(parse_url(str(path)))()}


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_image_and_labels_validate_and_open_with_ome_zarr(tmp_path, version):
    labels = random_labels(1, shape=(90, 100), holes=0)
    image = np.stack([labels * 3, labels % 7]).astype(np.uint16)
    path = tmp_path / "cells.ome.zarr"
    write_ngff_image(path, image, "cyx", spacing=(0.65, 0.5), version=version, levels=3)
    write_ngff_labels(path, labels)
    label_model = _validate(path, version)
    assert label_model.attributes is not None
    nodes = _nodes(path)
    label_node = next(node for key, node in nodes.items() if key.endswith("labels/cells"))
    assert [type(spec).__name__ for spec in label_node.specs] == ["Label", "Multiscales"]
    assert [level.shape for level in label_node.data] == [(90, 100), (45, 50), (23, 25)]
    for k, level in enumerate(label_node.data):      # nearest neighbour: ids kept
        np.testing.assert_array_equal(np.asarray(level), labels[::2 ** k, ::2 ** k])
    scales = [t[0]["scale"] for t in label_node.metadata["coordinateTransformations"]]
    assert scales == [[0.65 * 2 ** k, 0.5 * 2 ** k] for k in range(3)]
    np.testing.assert_array_equal(np.asarray(nodes[str(path)].data[0]), image)
    assert [a["unit"] for a in label_node.metadata["axes"]] == ["micrometer"] * 2


def test_labels_go_into_an_image_written_by_ome_zarr_py(tmp_path):
    """An OME-Zarr image (c, z, y, x) with z = 1 written by ome-zarr-py itself: the label image
    follows its version, spatial axes, units and levels."""
    from ome_zarr.writer import write_image

    labels = random_labels(2, shape=(64, 80), holes=0)
    path = tmp_path / "theirs.zarr"
    group = zarr.open_group(str(path), mode="w")
    write_image(np.zeros((2, 1, 64, 80), np.uint8), group, axes="czyx",
                scale={"z": 2.0, "y": 0.65, "x": 0.65},
                axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"})
    theirs = _nodes(path)[str(path)]
    write_ngff_labels(path, labels)                    # 2D labels: the singleton z put back
    node = next(n for key, n in _nodes(path).items() if key.endswith("labels/cells"))
    assert len(node.data) == len(theirs.data)
    for ours, image_level in zip(node.data, theirs.data):
        assert ours.shape == image_level.shape[1:]
    np.testing.assert_array_equal(np.asarray(node.data[0])[0], labels)
    image_scales = [t[0]["scale"][1:] for t in theirs.metadata["coordinateTransformations"]]
    assert [t[0]["scale"] for t in node.metadata["coordinateTransformations"]] == image_scales
    with pytest.raises(InputError, match="exists"):
        write_ngff_labels(path, labels)
    # the image's own (multiscale-wide) transforms go with its labels, spatial axes only
    attrs = dict(group.attrs)
    ome = attrs.get("ome", attrs)
    ome["multiscales"][0]["coordinateTransformations"] = [
        {"type": "scale", "scale": [1.0, 1.0, 1.0, 1.0]},
        {"type": "translation", "translation": [0.0, 0.0, 5.0, 7.5]}]
    group.attrs.update(attrs)
    write_ngff_labels(path, labels[::-1].copy(), overwrite=True)
    label_group = zarr.open_group(str(path / "labels" / "cells"), mode="r")
    label_ome = dict(label_group.attrs).get("ome", dict(label_group.attrs))
    assert label_ome["multiscales"][0]["coordinateTransformations"][1] == {
        "type": "translation", "translation": [0.0, 5.0, 7.5]}
    np.testing.assert_array_equal(zarr.open_group(str(path))["labels/cells/0"][0], labels[::-1])
    with pytest.raises(InputError, match="do not match"):
        write_ngff_labels(path, labels[:10], name="other")


def test_a_dask_array_is_written_block_by_block(tmp_path):
    import dask.array as da

    labels = random_labels(5, shape=(300, 260), holes=0).astype(np.uint32)
    lazy = da.from_array(labels, chunks=(70, 90))      # blocks that straddle Zarr chunks
    path = tmp_path / "big.ome.zarr"
    write_ngff_image(path, lazy, "yx", spacing=(1.0, 1.0), levels=2)
    write_ngff_labels(path, lazy)
    group = zarr.open_group(str(path), mode="r")
    np.testing.assert_array_equal(group["0"][...], labels)
    np.testing.assert_array_equal(group["labels/cells/1"][...], labels[::2, ::2])
    assert group["labels/cells/0"].dtype == np.uint32


def test_bad_axes_or_an_existing_image_are_refused(tmp_path):
    with pytest.raises(InputError, match="axes"):
        write_ngff_image(tmp_path / "a.zarr", np.zeros((4, 5)), "xy")
    write_ngff_image(tmp_path / "a.zarr", np.zeros((4, 5)), "yx")
    with pytest.raises(InputError, match="exists"):
        write_ngff_image(tmp_path / "a.zarr", np.zeros((4, 5)), "yx")
