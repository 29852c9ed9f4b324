"""The plugin's reader and writer, without a viewer."""
import json

import numpy as np

from microseg.data import synthetic
from microseg.io.images import read_labels, write_image, write_labels
from microseg.napari.io import get_reader, read_layers, write_labels as write_layer


def _write_ome_zarr(path, image):
    """A one-level NGFF 0.4 image written with zarr itself."""
    import zarr

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    group.create_array("0", data=image, chunks=(16, 16))
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [
        {"name": "y", "type": "space"}, {"name": "x", "type": "space"}], "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0]}]}]}]


def test_files_folders_zarr_and_labels_open_as_layers(tmp_path):
    image = synthetic.generate("nuclei2d", seed=0, shape=(32, 40)).image
    write_image(tmp_path / "a.tif", image)
    write_image(tmp_path / "b.png", np.stack([image.astype(np.uint8)] * 3, axis=-1))
    write_labels(tmp_path / "a_labels.tif", np.arange(32 * 40).reshape(32, 40) % 5)
    for t in range(3):
        write_image(tmp_path / "seq" / f"t{t:03d}.tif", image + t)
    [(data, meta, kind)] = get_reader(str(tmp_path / "a.tif"))(str(tmp_path / "a.tif"))
    assert kind == "image" and meta["name"] == "a" and np.array_equal(data, image)
    [(data, meta, kind)] = read_layers(str(tmp_path / "b.png"))
    assert kind == "image" and meta["rgb"] and data.shape == (32, 40, 3)
    [(_, _, kind)] = read_layers(str(tmp_path / "a_labels.tif"))
    assert kind == "labels"
    [(data, meta, kind)] = read_layers(str(tmp_path / "seq"))
    assert data.shape == (3, 32, 40) and np.array_equal(data[2], image + 2)
    _write_ome_zarr(tmp_path / "c.zarr", image)
    [(data, _, _)] = get_reader(str(tmp_path / "c.zarr"))(str(tmp_path / "c.zarr"))
    assert np.array_equal(data, image)
    assert get_reader(str(tmp_path / "notes.txt")) is None
    (tmp_path / "other.json").write_text(json.dumps({"a": 1}))
    assert get_reader(str(tmp_path / "other.json")) is None


def test_a_coco_file_opens_as_images_with_their_labels(tmp_path):
    from microseg.io.coco import labels_to_coco, write_coco

    image = synthetic.generate("nuclei2d", seed=1, shape=(30, 30))
    write_image(tmp_path / "img.png", (image.image // 16).astype(np.uint8))
    coco = labels_to_coco({"img.png": image.labels})
    write_coco(tmp_path / "ann.json", coco)
    layers = get_reader(str(tmp_path / "ann.json"))(str(tmp_path / "ann.json"))
    assert [kind for _, _, kind in layers] == ["image", "labels"]
    assert len(np.unique(layers[1][0])) == len(np.unique(image.labels))


def test_the_writer_saves_a_label_tiff(tmp_path):
    labels = np.zeros((8, 8), np.int64)
    labels[2:4, 2:4] = 70000
    [path] = write_layer(str(tmp_path / "out.tif"), labels, {})
    saved = read_labels(path)
    assert saved.dtype == np.uint32 and np.array_equal(saved, labels)
