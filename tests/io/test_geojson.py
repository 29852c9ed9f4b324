"""GeoJSON for QuPath: read back with the ``geojson`` package and shapely."""
import json

import geojson
import numpy as np
import pytest
from shapely.geometry import shape
from skimage.measure import label as connected

from microseg.io.geojson import write_geojson
from microseg.measure import measure

from .test_outlines import random_labels


def test_one_valid_polygon_per_label_with_its_area_and_measurements(tmp_path):
    labels = random_labels(3, holes=0.05)
    table = measure(labels, spacing=(0.65, 0.65))
    path = write_geojson(tmp_path / "cells.geojson", labels, table)
    with open(path, encoding="utf-8") as handle:
        collection = geojson.load(handle)
    assert collection.is_valid and collection["type"] == "FeatureCollection"
    features = collection["features"]
    ids = sorted(set(np.unique(labels)) - {0})
    assert [int(f["properties"]["name"]) for f in features] == ids
    for feature, label in zip(features, ids):
        geometry = shape(feature["geometry"])
        assert geometry.is_valid
        area = (labels == label).sum()
        assert abs(geometry.area - area) <= 0.02 * area
        parts = connected(labels == label, connectivity=1).max()
        assert feature["geometry"]["type"] == ("Polygon" if parts == 1 else "MultiPolygon")
        properties = feature["properties"]
        assert properties["objectType"] == "detection" and "classification" not in properties
        row = int(np.flatnonzero(table["label"] == label)[0])
        assert properties["measurements"] == {name: values[row].item()
                                              for name, values in table.items()}
    assert not list(tmp_path.glob(".*"))        # written atomically: no temporary file left


def test_annotations_classification_and_no_nan_in_json(tmp_path):
    labels = np.zeros((6, 6), np.uint16)
    labels[1:3, 1:4] = 5
    table = {"label": np.array([5]), "area": np.array([6]), "perimeter_um": np.array([np.nan])}
    path = write_geojson(tmp_path / "a.geojson", labels, table, object_type="annotation",
                         classification="Nucleus")
    text = path.read_text()
    assert "NaN" not in text
    feature, = json.loads(text)["features"]
    assert feature["properties"] == {"objectType": "annotation", "name": "5",
                                     "classification": {"name": "Nucleus"},
                                     "measurements": {"label": 5, "area": 6}}
    assert feature["geometry"]["coordinates"] == [[[1, 1], [4, 1], [4, 3], [1, 3], [1, 1]]]
    with pytest.raises(ValueError, match="object_type"):
        write_geojson(tmp_path / "b.geojson", labels, object_type="cell")


def test_a_stack_gives_one_feature_per_object_and_slice_on_its_plane(tmp_path):
    labels = np.zeros((3, 8, 8), np.uint16)
    labels[0, 1:3, 1:3] = 2
    labels[2, 4:7, 4:6] = 2
    labels[1, 0:2, 5:8] = 9
    features = json.loads(write_geojson(tmp_path / "s.geojson", labels).read_text())["features"]
    assert [(f["properties"]["name"], f["geometry"]["plane"]["z"]) for f in features] == [
        ("2", 0), ("2", 2), ("9", 1)]
    assert [shape(f["geometry"]).area for f in features] == [4, 6, 6]
    assert all(f["geometry"]["plane"]["c"] == -1 for f in features)
