"""read_image on files written by the field's own libraries (tifffile OME and ImageJ, bioio's
OME-TIFF writer, ome-zarr's writer): axes, pixel size in µm, channel names, and the channels,
frames and scenes chosen; lazy reading; microscope formats through bioio and what a missing
plugin says."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import tifffile
import zarr

import microseg as ms
from microseg.errors import InputError, InputWarning
from microseg.io.images import read_array, read_image

RNG = np.random.default_rng(11)
PIXEL = 0.65                                                    # µm


def _pixels(*shape):
    return RNG.integers(0, 4000, shape, dtype=np.uint16)


def _ome_zarr(path, data, axes, names=(), fmt=None, scale=None):
    """``data`` written by ome-zarr's own writer with 0.65 µm pixels (2 µm in z) and two levels."""
    pytest.importorskip("ome_zarr")
    from ome_zarr.writer import write_image

    group = zarr.open_group(str(path), mode="w", zarr_format=2 if fmt else 3)
    spatial = {"z": 2.0, "y": PIXEL, "x": PIXEL} if scale is None else scale
    options = {"omero": {"channels": [
        {"label": n, "color": "FFFFFF", "active": True,
         "window": {"start": 0, "end": 4000, "min": 0, "max": 4000}} for n in names]}} \
        if names else {}
    write_image(data, group, axes=axes, scale={a: spatial[a] for a in axes if a in spatial},
                axes_units={a: "micrometer" for a in axes if a in "zyx"}, scale_factors=[2],
                **({"fmt": fmt} if fmt else {}), **options)
    return path


def test_a_cyx_ome_tiff_is_2d_with_named_channels_and_its_pixel_size(tmp_path):
    image = _pixels(2, 24, 32)
    tifffile.imwrite(tmp_path / "a.ome.tif", image, metadata={
        "axes": "CYX", "PhysicalSizeX": PIXEL, "PhysicalSizeY": PIXEL,
        "Channel": {"Name": ["DAPI", "GFP"]}})
    read = read_image(tmp_path / "a.ome.tif")
    assert (read.axes, read.spacing, read.channel_names) == ("CYX", (PIXEL, PIXEL), ("DAPI", "GFP"))
    assert read.channel_axis == 0
    np.testing.assert_array_equal(read.array, image)
    gfp = read_image(tmp_path / "a.ome.tif", channels="gfp")        # names ignore case
    assert (gfp.axes, gfp.channel_names) == ("YX", ("GFP",))
    np.testing.assert_array_equal(gfp.array, image[1])


def test_ome_pixel_sizes_in_other_units_become_micrometres(tmp_path):
    tifffile.imwrite(tmp_path / "a.ome.tif", _pixels(3, 8, 8), metadata={
        "axes": "ZYX", "PhysicalSizeX": 650, "PhysicalSizeXUnit": "nm", "PhysicalSizeY": 650,
        "PhysicalSizeYUnit": "nm", "PhysicalSizeZ": 0.002, "PhysicalSizeZUnit": "mm"})
    assert read_image(tmp_path / "a.ome.tif").spacing == (2.0, PIXEL, PIXEL)


def test_a_tczyx_ome_tiff_written_by_bioio(tmp_path):
    pytest.importorskip("bioio")
    from bioio import PhysicalPixelSizes
    from bioio.writers import OmeTiffWriter

    data = _pixels(3, 2, 4, 16, 20)
    OmeTiffWriter.save(data, tmp_path / "a.ome.tiff", dim_order="TCZYX",
                       channel_names=["DAPI", "GFP"],
                       physical_pixel_sizes=PhysicalPixelSizes(2.0, PIXEL, PIXEL))
    read = read_image(tmp_path / "a.ome.tiff")
    assert (read.axes, read.spacing, read.channel_names) == ("TCZYX", (2.0, PIXEL, PIXEL),
                                                             ("DAPI", "GFP"))
    frame = read_image(tmp_path / "a.ome.tiff", channels="DAPI", frames=2)
    assert frame.axes == "ZYX"
    np.testing.assert_array_equal(frame.array, data[2, 0])
    several = read_image(tmp_path / "a.ome.tiff", channels=[1, 0], frames="0:3:2")
    assert (several.axes, several.channel_names) == ("TCZYX", ("GFP", "DAPI"))
    np.testing.assert_array_equal(several.array, data[0:3:2][:, [1, 0]])


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_cyx_ome_zarr_written_by_ome_zarr(tmp_path, version):
    from_zarr = pytest.importorskip("ome_zarr.format")
    data = _pixels(2, 32, 40)
    fmt = from_zarr.FormatV04() if version == "0.4" else None
    path = _ome_zarr(tmp_path / "a.zarr", data, "cyx", ("DAPI", "GFP"), fmt)
    read = read_image(path)
    assert (read.axes, read.spacing, read.channel_names) == ("CYX", (PIXEL, PIXEL), ("DAPI", "GFP"))
    np.testing.assert_array_equal(read.array, data)


def test_a_tczyx_ome_zarr_level_0_reads_lazily(tmp_path):
    import dask.array as da

    data = _pixels(3, 2, 4, 32, 40)
    path = _ome_zarr(tmp_path / "a.zarr", data, "tczyx", ("DAPI", "GFP"))
    read = read_image(path, lazy=True)
    assert isinstance(read.array, da.Array)
    assert (read.axes, read.spacing, read.channel_names) == ("TCZYX", (2.0, PIXEL, PIXEL),
                                                             ("DAPI", "GFP"))
    assert read.array.shape == data.shape                           # level 0, not level 1
    np.testing.assert_array_equal(read.array[1, 0].compute(), data[1, 0])
    chosen = read_image(path, lazy=True, channels="GFP", frames=[2, 0])
    assert chosen.axes == "TZYX"
    np.testing.assert_array_equal(chosen.array.compute(), data[[2, 0], 1])


def test_a_single_plane_ome_zarr_is_a_2d_image(tmp_path):
    data = _pixels(1, 1, 1, 32, 40)
    read = read_image(_ome_zarr(tmp_path / "a.zarr", data, "tczyx"))
    assert (read.axes, read.spacing) == ("YX", (PIXEL, PIXEL))
    np.testing.assert_array_equal(read.array, data[0, 0, 0])


def test_an_ome_zarr_scale_without_units_is_not_a_pixel_size(tmp_path):
    group = zarr.open_group(str(tmp_path / "a.zarr"), mode="w", zarr_format=2)
    group.create_array("0", data=_pixels(16, 16))
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [{"name": "y"}, {"name": "x"}],
                                   "datasets": [{"path": "0", "coordinateTransformations": [
                                       {"type": "scale", "scale": [0.5, 0.5]}]}]}]
    with pytest.warns(InputWarning, match="scale but no unit"):
        assert read_image(tmp_path / "a.zarr").spacing is None


def test_an_imagej_hyperstack_with_its_resolution(tmp_path):
    stack = _pixels(3, 4, 2, 16, 20)                                # T, Z, C, Y, X
    tifffile.imwrite(tmp_path / "a.tif", stack, imagej=True, resolution=(1 / PIXEL, 1 / PIXEL),
                     metadata={"axes": "TZCYX", "unit": "um", "spacing": 2.0})
    read = read_image(tmp_path / "a.tif")
    assert (read.axes, read.spacing) == ("TZCYX", (2.0, PIXEL, PIXEL))
    frame = read_image(tmp_path / "a.tif", frames=1, channels=1)
    assert frame.axes == "ZYX"
    np.testing.assert_array_equal(frame.array, stack[1, :, 1])


def test_an_imagej_micro_sign_unit_and_no_unit(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _pixels(16, 20), imagej=True,
                     resolution=(1 / PIXEL, 1 / PIXEL), metadata={"unit": "\\u00B5m"})
    tifffile.imwrite(tmp_path / "b.tif", _pixels(16, 20), imagej=True,
                     resolution=(1 / PIXEL, 1 / PIXEL))
    assert read_image(tmp_path / "a.tif").spacing == (PIXEL, PIXEL)
    assert read_image(tmp_path / "b.tif").spacing is None            # pixels of no length


def test_tiff_resolution_tags_in_centimetres_but_not_dots_per_inch(tmp_path):
    tifffile.imwrite(tmp_path / "cm.tif", _pixels(16, 20), resolution=(1e4 / PIXEL, 1e4 / PIXEL),
                     resolutionunit="CENTIMETER")
    tifffile.imwrite(tmp_path / "dpi.tif", _pixels(16, 20), resolution=(300, 300),
                     resolutionunit="INCH")
    assert read_image(tmp_path / "cm.tif").spacing == (PIXEL, PIXEL)
    assert read_image(tmp_path / "dpi.tif").spacing is None


def test_a_large_tiff_reads_lazily_and_only_the_frames_chosen(tmp_path):
    import dask.array as da

    stack = _pixels(6, 64, 64)
    tifffile.imwrite(tmp_path / "a.tif", stack, imagej=True, metadata={"axes": "TYX"})
    read = read_image(tmp_path / "a.tif", lazy=True)
    assert isinstance(read.array, da.Array) and read.axes == "TYX"
    np.testing.assert_array_equal(read.array[4].compute(), stack[4])
    np.testing.assert_array_equal(read_image(tmp_path / "a.tif", frames="3").array, stack[3])


def test_a_wrong_channel_lists_the_files_channels_by_name(tmp_path):
    tifffile.imwrite(tmp_path / "a.ome.tif", _pixels(2, 8, 8),
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    with pytest.raises(InputError, match="no channel 'RFP'; the file's channels: 0 'DAPI', "
                                         "1 'GFP'") as error:
        read_image(tmp_path / "a.ome.tif", channels="RFP")
    assert str(error.value).startswith(str(tmp_path / "a.ome.tif"))
    with pytest.raises(InputError, match="no channel 2"):
        read_image(tmp_path / "a.ome.tif", channels=[0, 2])
    tifffile.imwrite(tmp_path / "b.tif", _pixels(8, 8))
    with pytest.raises(InputError, match="no channel axis"):
        read_image(tmp_path / "b.tif", channels=0)


def test_wrong_frames_name_the_files_frames(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _pixels(5, 8, 8), imagej=True, metadata={"axes": "TYX"})
    with pytest.raises(InputError, match="no frame 7: the file has 5 frames"):
        read_image(tmp_path / "a.tif", frames=7)
    with pytest.raises(InputError, match="select none"):
        read_image(tmp_path / "a.tif", frames="6:9")
    tifffile.imwrite(tmp_path / "b.tif", _pixels(8, 8))
    with pytest.raises(InputError, match="no time axis"):
        read_image(tmp_path / "b.tif", frames=0)


def test_scenes_of_an_ome_tiff(tmp_path):
    with tifffile.TiffWriter(tmp_path / "a.ome.tif", ome=True) as tif:
        tif.write(_pixels(2, 10, 10), metadata={"axes": "CYX", "Name": "first"})
        tif.write(np.ones((12, 14), np.uint16), metadata={"axes": "YX", "Name": "second"})
    with pytest.warns(InputWarning, match="holds 2 scenes"):
        assert read_image(tmp_path / "a.ome.tif").axes == "CYX"
    for scene in (1, "1", "second"):
        assert read_image(tmp_path / "a.ome.tif", scene=scene).array.shape == (12, 14)
    with pytest.raises(InputError, match="the file's scenes: 0 'first', 1 'second'"):
        read_image(tmp_path / "a.ome.tif", scene="third")


def test_read_image_is_at_the_package_root_and_read_array_keeps_the_stored_layout(tmp_path):
    image = _pixels(1, 2, 8, 8)
    tifffile.imwrite(tmp_path / "a.tif", image, metadata={"axes": "TCYX"})
    assert ms.read_image is read_image
    assert ms.read_image(tmp_path / "a.tif").axes == "CYX"
    np.testing.assert_array_equal(read_array(tmp_path / "a.tif"), image)


# --- microscope formats through bioio -----------------------------------------------------------

def _zipped(folder, path):
    """An OME-Zarr folder as a zipped OME-Zarr (``.ozx``: the store's files, uncompressed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for root, _, files in os.walk(folder):
            for name in files:
                archive.write(os.path.join(root, name),
                              os.path.relpath(os.path.join(root, name), folder))
    return path


def test_a_format_read_through_bioio_gives_axes_spacing_channels_and_frames(tmp_path):
    pytest.importorskip("bioio_ome_zarr")
    data = _pixels(3, 2, 1, 32, 40)
    path = _zipped(_ome_zarr(tmp_path / "a.zarr", data, "tczyx", ("DAPI", "GFP")),
                   tmp_path / "a.ozx")
    read = read_image(path)
    assert (read.axes, read.spacing, read.channel_names) == ("TCYX", (PIXEL, PIXEL),
                                                             ("DAPI", "GFP"))
    np.testing.assert_array_equal(read.array, data[:, :, 0])
    lazy = read_image(path, channels="GFP", frames=2, lazy=True)
    assert lazy.axes == "YX"
    np.testing.assert_array_equal(lazy.array.compute(), data[2, 1, 0])


@pytest.mark.skip(reason="no library available here writes ND2 or LIF files (nd2 and liffile "
                         "only read them; bioio writes OME-TIFF and OME-Zarr only) and tests may "
                         "not use data from outside the project, so there is no ND2/LIF sample")
def test_an_nd2_or_lif_file_is_read_through_bioio():
    """Their route is the one of ``test_a_format_read_through_bioio_gives_axes_…``."""


def test_a_czi_without_its_plugin_names_the_file_and_what_to_install(tmp_path):
    if importlib.util.find_spec("bioio") is None:
        pytest.skip("bioio is not installed")
    if importlib.util.find_spec("bioio_czi") is not None:
        pytest.skip("bioio-czi is installed here, so its absence cannot be shown")
    (tmp_path / "a.czi").write_bytes(b"ZISRAWFILE" + bytes(100))
    with pytest.raises(InputError, match=r"a\.czi: no installed bioio reader opens \.czi files: "
                                         r"pip install bioio-czi \(its licence is GPL-3"):
        read_image(tmp_path / "a.czi")


def test_a_damaged_nd2_is_refused_by_its_plugin(tmp_path):
    pytest.importorskip("bioio_nd2")
    (tmp_path / "a.nd2").write_bytes(bytes(200))
    with pytest.raises(InputError, match=r"a\.nd2: bioio-nd2 cannot read this file"):
        read_image(tmp_path / "a.nd2")


def test_without_bioio_a_microscope_format_asks_for_the_formats_extra(tmp_path):
    (tmp_path / "a.lif").write_bytes(bytes(100))
    code = ("import sys\n"
            "sys.modules['bioio'] = None  # as if bioio were not installed\n"
            "from microseg.io import read_image\n"
            "try:\n"
            f"    read_image({str(tmp_path / 'a.lif')!r})\n"
            "except Exception as exc:\n"
            "    print(type(exc).__name__, exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout.strip() == (f"InputError {tmp_path / 'a.lif'}: reading .lif files needs "
                                   f"bioio: pip install 'microseg[formats]'")
