"""Files of the other tools segmented as their metadata says: the channel chosen by name or
index, one output per frame of a time series, and the pixel size (0.65 µm) reaching the
measurements — OME-TIFF (tifffile), OME-Zarr (ome-zarr's writer), ImageJ hyperstack."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile
import zarr

import microseg as ms
from microseg.cli import main
from microseg.data import synthetic
from microseg.errors import InputError
from microseg.io.images import read_labels

PIXEL = 0.65                                                    # µm
SHAPE = (96, 96)


@pytest.fixture(scope="module")
def nuclei():
    """Two synthetic nuclei images and their labels by the bundled model, segmented alone."""
    images = [synthetic.generate("nuclei2d", seed=seed, shape=SHAPE).image for seed in (0, 1)]
    return images, [ms.segment(image, "default") for image in images]


def _noise(seed=0):
    return np.random.default_rng(seed).integers(0, 600, SHAPE, dtype=np.uint16)


def _segment(*args):
    return main(["segment", *map(str, args), "--threads", "1", "--quiet"])


def _table(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}


def _ome_tiff(path, nuclei):
    tifffile.imwrite(path, np.stack([_noise(), nuclei]), metadata={
        "axes": "CYX", "PhysicalSizeX": PIXEL, "PhysicalSizeY": PIXEL,
        "Channel": {"Name": ["noise", "DAPI"]}})
    return path


def test_an_ome_tiff_is_segmented_on_the_named_channel_with_micrometre_measurements(
        tmp_path, nuclei):
    (image, _), (expected, _) = nuclei
    path = _ome_tiff(tmp_path / "a.ome.tif", image)
    assert _segment(path, "--out", tmp_path / "out", "--channel", "DAPI") == 0
    np.testing.assert_array_equal(read_labels(tmp_path / "out" / "a.ome_labels.tif"), expected)
    table = _table(tmp_path / "out" / "a.ome.csv")
    assert len(table["label"]) == expected.max() > 0
    np.testing.assert_allclose(table["area_physical"], table["area"] * PIXEL ** 2)
    np.testing.assert_allclose(table["centroid_x_physical"], table["centroid_x"] * PIXEL)


def test_a_spacing_given_overrides_the_files(tmp_path, nuclei):
    path = _ome_tiff(tmp_path / "a.ome.tif", nuclei[0][0])
    assert _segment(path, "--out", tmp_path / "out", "--channel", "1", "--spacing", "2", "2") == 0
    table = _table(tmp_path / "out" / "a.ome.csv")
    np.testing.assert_allclose(table["area_physical"], table["area"] * 4.0)


def test_an_ome_zarr_time_series_is_segmented_frame_by_frame(tmp_path, nuclei):
    from_writer = pytest.importorskip("ome_zarr.writer")
    images, expected = nuclei
    data = np.stack([np.stack([_noise(t), image])[:, None] for t, image in enumerate(images)])
    group = zarr.open_group(str(tmp_path / "a.zarr"), mode="w")
    from_writer.write_image(data, group, axes="tczyx", scale={"z": 1.0, "y": PIXEL, "x": PIXEL},
                            axes_units={a: "micrometer" for a in "zyx"}, scale_factors=[2])
    assert _segment(tmp_path / "a.zarr", "--out", tmp_path / "out", "--channel", "1") == 0
    for t in (0, 1):
        np.testing.assert_array_equal(read_labels(tmp_path / "out" / f"a_t00{t}_labels.tif"),
                                      expected[t])
        table = _table(tmp_path / "out" / f"a_t00{t}.csv")
        np.testing.assert_allclose(table["area_physical"], table["area"] * PIXEL ** 2)
    assert _segment(tmp_path / "a.zarr", "--out", tmp_path / "one", "--channel", "1",
                    "--frames", "1") == 0
    assert sorted(p.name for p in (tmp_path / "one").glob("*_labels.tif")) == \
        ["a_t001_labels.tif"]


def test_the_sequence_range_of_a_time_series_file_spans_its_chosen_channel(tmp_path):
    from microseg.pipelines.files import SegmentOptions, sequence_range

    data = np.random.default_rng(5).integers(0, 5000, (4, 2, 16, 16), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", data, imagej=True, metadata={"axes": "TCYX"})
    assert sequence_range(tmp_path / "a.tif", SegmentOptions(channels=1)) == \
        (data[:, 1].min(), data[:, 1].max())


def test_an_imagej_hyperstack_gives_its_pixel_size_to_the_measurements(tmp_path, nuclei):
    (image, _), (expected, _) = nuclei
    tifffile.imwrite(tmp_path / "a.tif", np.stack([_noise(), image]), imagej=True,
                     resolution=(1 / PIXEL, 1 / PIXEL), metadata={"axes": "CYX", "unit": "um"})
    assert _segment(tmp_path / "a.tif", "--out", tmp_path / "out", "--channel", "1") == 0
    np.testing.assert_array_equal(read_labels(tmp_path / "out" / "a_labels.tif"), expected)
    table = _table(tmp_path / "out" / "a.csv")
    np.testing.assert_allclose(table["area_physical"], table["area"] * PIXEL ** 2)


def test_ms_segment_takes_the_image_read_with_its_channel(tmp_path, nuclei):
    (image, _), (expected, _) = nuclei
    path = _ome_tiff(tmp_path / "a.ome.tif", image)
    np.testing.assert_array_equal(ms.segment(ms.read_image(path, channels="DAPI"), "default"),
                                  expected)
    with pytest.raises(InputError, match=r"the model takes 1 channel\(s\), the image has 2: "
                                         r"0 'noise', 1 'DAPI'; choose with --channel"):
        ms.segment(ms.read_image(path), "default")


def test_channel_errors_list_the_files_channels_by_name(tmp_path, capsys, nuclei):
    path = _ome_tiff(tmp_path / "a.ome.tif", nuclei[0][0])
    assert _segment(path, "--out", tmp_path / "out") == 1
    assert "the image has 2: 0 'noise', 1 'DAPI'; choose with --channel" in \
        capsys.readouterr().err
    assert _segment(path, "--out", tmp_path / "out", "--channel", "RFP") == 1
    assert "no channel 'RFP'; the file's channels: 0 'noise', 1 'DAPI'" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("*_labels.tif"))
