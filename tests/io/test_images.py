"""Images and label images: TIFF (2D, 3D, multi-page, compressed), PNG/JPG, npy; bad input."""
from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from microseg.errors import InputError
from microseg.io import read_array, read_labels, write_image, write_labels
from microseg.io.atomic import atomic_path
from microseg.io.images import as_labels, check_same_shape

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("compression, tag", [(None, 1), ("lzw", 5), ("zlib", 8)])
@pytest.mark.parametrize("shape", [(17, 23), (3, 17, 23), (4, 9, 11), (2, 3, 9, 11)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_round_trip(tmp_path, compression, tag, shape, dtype):
    image = (RNG.random(shape) * 200).astype(dtype)
    path = write_image(tmp_path / "a.tif", image, compression=compression)
    back = read_array(path)
    assert back.dtype == image.dtype and back.shape == image.shape
    np.testing.assert_array_equal(back, image)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].compression == tag
        # stacks are stored as grey pages, never as planar RGB (Z = 3 or 4 is not colour)
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.MINISBLACK


def test_rgb_tiff_is_tagged_rgb(tmp_path):
    image = RNG.integers(0, 255, (8, 9, 3), dtype=np.uint8)
    path = write_image(tmp_path / "rgb.tif", image)
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.RGB
    np.testing.assert_array_equal(read_array(path), image)


def test_multipage_written_page_by_page_is_stacked(tmp_path):
    pages = [np.full((5, 6), i, np.uint16) for i in range(4)]
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tif:
        for page in pages:
            tif.write(page, compression="lzw")
    np.testing.assert_array_equal(read_array(tmp_path / "pages.tif"), np.stack(pages))


def test_multipage_of_different_shapes_reads_first_series(tmp_path):
    with tifffile.TiffWriter(tmp_path / "mixed.tif") as tif:
        tif.write(np.ones((5, 6), np.uint8))
        tif.write(np.zeros((3, 3), np.uint8))
    np.testing.assert_array_equal(read_array(tmp_path / "mixed.tif"), np.ones((5, 6), np.uint8))


def test_imagej_hyperstack(tmp_path):
    stack = RNG.integers(0, 255, (3, 4, 10, 12), dtype=np.uint8)  # (T, Z, Y, X)
    tifffile.imwrite(tmp_path / "hyper.tif", stack, imagej=True, metadata={"axes": "TZYX"},
                     compression="zlib")
    np.testing.assert_array_equal(read_array(tmp_path / "hyper.tif"), stack)


def test_png_grey_and_rgb(tmp_path):
    grey = RNG.integers(0, 255, (10, 12), dtype=np.uint8)
    rgb = RNG.integers(0, 255, (10, 12, 3), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    Image.fromarray(rgb).save(tmp_path / "c.png")
    np.testing.assert_array_equal(read_array(tmp_path / "g.png"), grey)
    np.testing.assert_array_equal(read_array(tmp_path / "c.png"), rgb)


def test_png_grey_16bit(tmp_path):
    grey = RNG.integers(0, 65535, (10, 12), dtype=np.uint16)
    write_image(tmp_path / "g16.png", grey)
    back = read_array(tmp_path / "g16.png")
    np.testing.assert_array_equal(back.astype(np.uint16), grey)


def test_png_rgba_constant_alpha_is_dropped_varying_alpha_kept(tmp_path):
    rgba = RNG.integers(0, 255, (10, 12, 4), dtype=np.uint8)
    constant = rgba.copy()
    constant[..., 3] = 255
    Image.fromarray(constant, mode="RGBA").save(tmp_path / "const.png")
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "vary.png")
    np.testing.assert_array_equal(read_array(tmp_path / "const.png"), constant[..., :3])
    np.testing.assert_array_equal(read_array(tmp_path / "vary.png"), rgba)


def test_palette_png_expands_to_rgb(tmp_path):
    index = np.array([[0, 1], [2, 1]], np.uint8)
    image = Image.fromarray(index, mode="P")
    palette = [10, 20, 30, 40, 50, 60, 70, 80, 90]
    image.putpalette(palette + [0] * (768 - len(palette)))
    image.save(tmp_path / "p.png")
    expected = np.array(palette, np.uint8).reshape(3, 3)[index]
    np.testing.assert_array_equal(read_array(tmp_path / "p.png"), expected)


def test_jpg_reads_close_to_written(tmp_path):
    smooth = np.tile(np.linspace(0, 250, 32, dtype=np.uint8), (32, 1))
    write_image(tmp_path / "s.jpg", smooth)
    back = read_array(tmp_path / "s.jpg")
    assert back.shape == smooth.shape
    assert np.abs(back.astype(int) - smooth).max() <= 4  # lossy, but close on a smooth ramp


def test_npy_round_trip(tmp_path):
    volume = RNG.random((3, 4, 5)).astype(np.float64)
    write_image(tmp_path / "v.npy", volume)
    np.testing.assert_array_equal(read_array(tmp_path / "v.npy"), volume)


def test_labels_uint16_and_uint32(tmp_path):
    small = np.array([[0, 1], [65535, 2]], np.int64)
    large = np.array([[0, 1], [70000, 2]], np.int64)
    assert read_labels(write_labels(tmp_path / "s.tif", small)).dtype == np.uint16
    back = read_labels(write_labels(tmp_path / "l.tif", large))
    assert back.dtype == np.uint32
    np.testing.assert_array_equal(back, large)


def test_as_labels_accepts_whole_floats_and_bool():
    np.testing.assert_array_equal(as_labels(np.array([0.0, 3.0])), [0, 3])
    assert as_labels(np.array([True, False])).dtype == np.uint16


@pytest.mark.parametrize("labels, reason", [
    (np.array([[0, -1]]), "≥ 0"),
    (np.array([[0.5, 1.0]]), "whole numbers"),
    (np.array([[np.nan, 1.0]]), "whole numbers"),
])
def test_bad_labels_raise_on_read_and_write(tmp_path, labels, reason):
    tifffile.imwrite(tmp_path / "bad.tif", labels)
    with pytest.raises(InputError, match=f"bad.tif: .*{reason}"):
        read_labels(tmp_path / "bad.tif")
    with pytest.raises(InputError, match=reason):
        write_labels(tmp_path / "out.tif", labels)
    assert not (tmp_path / "out.tif").exists()


def test_non_numeric_labels_raise():
    with pytest.raises(InputError, match="integers"):
        as_labels(np.array([["a", "b"]]))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found") as err:
        read_array(tmp_path / "none.tif")
    assert err.value.path == tmp_path / "none.tif"


def test_unsupported_suffix(tmp_path):
    (tmp_path / "a.gif").write_bytes(b"GIF89a")
    with pytest.raises(InputError, match="unsupported"):
        read_array(tmp_path / "a.gif")
    with pytest.raises(InputError, match="unsupported"):
        write_image(tmp_path / "b.gif", np.zeros((2, 2), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif"]


@pytest.mark.parametrize("compression", [None, "lzw", "zlib"])
@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_tiff(tmp_path, compression, keep):
    path = tmp_path / "full.tif"
    tifffile.imwrite(path, RNG.integers(0, 255, (3, 64, 64), dtype=np.uint8),
                     compression=compression, photometric="minisblack")
    data = path.read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(InputError, match="cut.tif: cannot read image"):
        read_array(tmp_path / "cut.tif")


@pytest.mark.parametrize("name", ["junk.png", "junk.tif", "junk.npy", "junk.jpg"])
def test_garbage_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00\x01 definitely not an image" * 3)
    with pytest.raises(InputError, match=name):
        read_array(tmp_path / name)


def test_empty_npy(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((0, 5)))
    with pytest.raises(InputError, match="empty"):
        read_array(tmp_path / "e.npy")


def test_check_same_shape():
    check_same_shape(np.zeros((4, 5, 3)), np.zeros((4, 5)), "x", channel_axis=-1)
    with pytest.raises(InputError, match="does not match"):
        check_same_shape(np.zeros((4, 5)), np.zeros((4, 6)), "x")


def test_atomic_path_leaves_target_untouched_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_gives_the_permissions_of_a_plain_open(tmp_path):
    previous = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.txt"
        with atomic_path(fresh) as tmp:
            tmp.write_text("new")
    finally:
        os.umask(previous)
    assert fresh.stat().st_mode & 0o777 == 0o644              # not a temporary file's 0o600
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    with atomic_path(kept) as tmp:
        tmp.write_text("new")
    assert kept.read_text() == "new" and kept.stat().st_mode & 0o777 == 0o640
