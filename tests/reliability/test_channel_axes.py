"""Channels are never read as Z: axes come from the file's own metadata (OME, ImageJ, tifffile
shape), and a layout the file does not name asks for the channel axis instead of guessing."""
import numpy as np
import pytest
import tifffile
import torch
import zarr
from PIL import Image

import microseg as ms
from microseg import models
from microseg.cli import main
from microseg.data import synthetic
from microseg.errors import InputError
from microseg.io.axes import single_image_channel_axis
from microseg.io.images import read_image, read_labels, write_image
from microseg.models.checkpoint import save_checkpoint

RNG = np.random.default_rng(3)


def _pixels(*shape):
    return RNG.integers(0, 4000, shape, dtype=np.uint16)


@pytest.fixture(scope="module")
def two_channel_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = models.build("unet", in_channels=2, base_channels=4, depth=2)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "model.pt", model,
                           {"target": {"name": "three_class"}})


def _nuclei(shape=(48, 56)):
    return synthetic.generate("nuclei2d", seed=0, shape=shape).image


def _segment(*args):
    return main(["segment", *map(str, args), "--threads", "1", "--quiet"])


def test_a_cyx_ome_tiff_is_read_as_two_channels(tmp_path):
    image = _pixels(2, 24, 32)
    tifffile.imwrite(tmp_path / "a.ome.tif", image, metadata={"axes": "CYX"}, ome=True)
    back = read_image(tmp_path / "a.ome.tif")
    assert back.axes == "CYX"
    np.testing.assert_array_equal(back.array, image)


def test_an_imagej_hyperstack_names_its_slices_and_channels(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _pixels(3, 2, 24, 32), imagej=True,
                     metadata={"axes": "ZCYX"})
    back = read_image(tmp_path / "a.tif")
    assert back.axes == "ZCYX" and back.array.shape == (3, 2, 24, 32)


def test_an_imagej_channel_stack_is_channels_not_z(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _pixels(2, 24, 32), imagej=True,
                     metadata={"axes": "CYX"})
    assert read_image(tmp_path / "a.tif").axes == "CYX"


def test_an_ome_zarr_names_its_channel_axis(tmp_path):
    group = zarr.open_group(str(tmp_path / "a.zarr"), mode="w", zarr_format=2)
    group.create_array("0", data=_pixels(2, 24, 32))
    group.attrs["multiscales"] = [{"version": "0.4", "datasets": [{"path": "0"}],
                                   "axes": [{"name": name} for name in "cyx"]}]
    assert read_image(tmp_path / "a.zarr").axes == "CYX"


def test_singleton_time_and_channel_axes_are_squeezed(tmp_path):
    image = _pixels(1, 1, 24, 32)
    tifffile.imwrite(tmp_path / "a.tif", image, metadata={"axes": "TCYX"})
    back = read_image(tmp_path / "a.tif")
    assert back.axes == "YX"
    np.testing.assert_array_equal(back.array, image[0, 0])


def test_an_rgb_png_and_an_rgb_tiff_stay_colour_images(tmp_path):
    rgb = RNG.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    write_image(tmp_path / "a.tif", rgb)
    assert read_image(tmp_path / "a.png").axes == "YXS"
    assert read_image(tmp_path / "a.tif").axes == "YXS"


#: unnamed layouts with a small axis: two trailing values per pixel, two pages
SMALL_AXES = [((24, 32, 2), 2, "YXC"), ((2, 24, 32), 0, "CYX")]


@pytest.mark.parametrize("shape, axis, axes", SMALL_AXES)
def test_an_unnamed_small_axis_asks_for_the_channel_axis(tmp_path, shape, axis, axes):
    write_image(tmp_path / "a.tif", _pixels(*shape))
    with pytest.raises(InputError, match=f"--channel-axis {axis}"):
        read_image(tmp_path / "a.tif")


@pytest.mark.parametrize("shape, axis, axes", SMALL_AXES)
def test_the_channel_axis_names_an_unnamed_small_axis(tmp_path, shape, axis, axes):
    write_image(tmp_path / "a.tif", _pixels(*shape))
    assert read_image(tmp_path / "a.tif", channel_axis=axis).axes == axes


def test_an_unnamed_deep_stack_is_read_as_z(tmp_path):
    write_image(tmp_path / "a.npy", _pixels(6, 24, 32))
    assert read_image(tmp_path / "a.npy").axes == "ZYX"


def test_a_channel_axis_against_the_metadata_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _pixels(3, 24, 32), imagej=True,
                     metadata={"axes": "ZYX"})
    with pytest.raises(InputError, match="not its channel axis"):
        read_image(tmp_path / "a.tif", channel_axis=0)


def test_a_time_series_is_refused_for_single_image_segmentation(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", _pixels(3, 24, 32), imagej=True,
                     metadata={"axes": "TYX"})
    axes = read_image(tmp_path / "a.tif").axes
    assert axes == "TYX"
    with pytest.raises(InputError, match="choose a frame"):
        single_image_channel_axis(axes, tmp_path / "a.tif")


def test_a_two_channel_ome_tiff_segments_to_2d_labels_on_its_channel_axis(
        tmp_path, two_channel_checkpoint):
    nuclei = _nuclei()
    tifffile.imwrite(tmp_path / "a.ome.tif", np.stack([nuclei, nuclei[::-1]]),
                     metadata={"axes": "CYX"}, ome=True)
    image = read_image(tmp_path / "a.ome.tif")
    labels = ms.segment(image.array, two_channel_checkpoint,
                        channel_axis=single_image_channel_axis(image.axes))
    assert labels.shape == nuclei.shape


def test_a_trailing_pair_of_values_is_refused_by_the_command_line(tmp_path, capsys):
    write_image(tmp_path / "a.tif", _pixels(48, 56, 2))
    assert _segment(tmp_path / "a.tif", "--model", "default", "--out", tmp_path / "out") != 0
    assert "--channel-axis 2" in capsys.readouterr().err
    assert not (tmp_path / "out" / "a_labels.tif").exists()


def test_a_one_channel_cyx_tiff_with_its_channel_axis_gives_2d_labels(tmp_path):
    nuclei = _nuclei()
    tifffile.imwrite(tmp_path / "a.tif", nuclei[None], metadata={"axes": "CYX"})
    assert _segment(tmp_path / "a.tif", "--model", "default", "--out", tmp_path / "out",
                    "--channel-axis", 0) == 0
    assert read_labels(tmp_path / "out" / "a_labels.tif").shape == nuclei.shape


def test_a_one_channel_cyx_tiff_gives_2d_labels_without_being_told(tmp_path):
    nuclei = _nuclei()
    tifffile.imwrite(tmp_path / "a.tif", nuclei[None], metadata={"axes": "CYX"})
    assert _segment(tmp_path / "a.tif", "--model", "default", "--out", tmp_path / "out") == 0
    assert read_labels(tmp_path / "out" / "a_labels.tif").shape == nuclei.shape


def test_a_two_channel_ome_tiff_is_not_segmented_as_a_stack(tmp_path, capsys):
    nuclei = _nuclei()
    tifffile.imwrite(tmp_path / "a.ome.tif", np.stack([nuclei, nuclei]),
                     metadata={"axes": "CYX"}, ome=True)
    assert _segment(tmp_path / "a.ome.tif", "--model", "default", "--out",
                    tmp_path / "out") != 0
    assert "the image has 2" in capsys.readouterr().err
    assert not (tmp_path / "out" / "a.ome_labels.tif").exists()


def test_ctc_frames_saved_with_a_channel_axis_give_2d_masks(tmp_path):
    sequence = tmp_path / "data" / "01"
    sequence.mkdir(parents=True)
    for t in range(3):
        frame = synthetic.generate("nuclei2d", seed=t, shape=(96, 96)).image
        tifffile.imwrite(sequence / f"t{t:03d}.tif", frame[None], metadata={"axes": "CYX"})
    result = tmp_path / "01_RES"
    assert main(["ctc", str(sequence), "--model", "default", "--out", str(result),
                 "--quiet"]) == 0
    masks = sorted(result.glob("mask*.tif"))
    assert len(masks) == 3
    assert all(read_labels(mask).shape == (96, 96) for mask in masks)
