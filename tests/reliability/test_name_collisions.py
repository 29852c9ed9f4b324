"""Outputs never overwrite each other by name: files of one stem get distinct outputs (or are
refused, naming each other), a folder can be its own output folder, outputs of another input
are not replaced silently, and ``track`` does not write into an existing result."""
import numpy as np

from microseg.cli import main
from microseg.data import synthetic
from microseg.io.ctc import read_ctc_result
from microseg.io.images import read_labels, write_image, write_labels
from microseg.pipelines.files import output_paths


def _image(seed, size=96):
    return synthetic.generate("nuclei2d", seed=seed, shape=(size, size)).image


def _segment(*args):
    return main(["segment", *map(str, args), "--model", "default", "--quiet"])


def test_a_tif_and_a_png_of_one_name_get_outputs_of_their_own_and_a_note(tmp_path, capsys):
    folder = tmp_path / "images"
    write_image(folder / "a.tif", _image(0))
    write_image(folder / "a.png", (_image(1) // 4).astype(np.uint8))
    assert _segment(folder, "--out", tmp_path / "out") == 0
    assert "2 input(s) share a file name with another" in capsys.readouterr().err
    assert _segment(folder / "a.png", "--out", tmp_path / "alone") == 0
    np.testing.assert_array_equal(read_labels(output_paths(tmp_path / "out", "a_png")[0]),
                                  read_labels(output_paths(tmp_path / "alone", "a")[0]))
    assert all(p.exists() for stem in ("a_tif", "a_png")
               for p in output_paths(tmp_path / "out", stem))
    assert not output_paths(tmp_path / "out", "a")[0].exists()


def test_files_whose_outputs_would_still_coincide_are_refused_naming_each_other(tmp_path,
                                                                                capsys):
    first, second = tmp_path / "x" / "sub" / "img.tif", tmp_path / "y" / "sub" / "img.tif"
    write_image(first, _image(0))
    write_image(second, _image(1))
    write_image(tmp_path / "other.tif", _image(2))
    out = tmp_path / "out"
    assert _segment(first, second, tmp_path / "other.tif", "--out", out) == 1
    err = capsys.readouterr().err
    assert f"{first}: its outputs" in err and f"would be those of {second} too" in err
    assert f"{second}: its outputs" in err and f"would be those of {first} too" in err
    assert sorted(p.name for p in out.glob("*_labels.tif")) == ["other_labels.tif"]


def test_a_folder_segmented_into_itself_leaves_its_own_outputs_alone(tmp_path, capsys):
    folder = tmp_path / "images"
    for name in ("a", "b"):
        write_image(folder / f"{name}.tif", _image(ord(name)))
    assert _segment(folder, "--out", folder) == 0
    write_image(folder / "c.tif", _image(3))
    capsys.readouterr()
    assert _segment(folder, "--out", folder) == 0
    printed = capsys.readouterr().out
    assert "segmented 1 image(s)" in printed and "2 skipped" in printed
    assert sorted(p.name for p in folder.glob("*.tif")) == [
        "a.tif", "a_labels.tif", "b.tif", "b_labels.tif", "c.tif", "c_labels.tif"]
    assert sorted(p.name for p in folder.glob("*.png")) == [
        "a_overlay.png", "b_overlay.png", "c_overlay.png"]


def test_outputs_of_another_input_are_replaced_only_with_overwrite(tmp_path, capsys):
    first, second = tmp_path / "x" / "a.tif", tmp_path / "y" / "a.tif"
    write_image(first, _image(0))
    write_image(second, _image(1, size=64))
    out = tmp_path / "out"
    assert _segment(first, "--out", out) == 0
    assert _segment(second, "--out", out) == 1
    assert f"output of another input, {first}" in capsys.readouterr().err
    assert read_labels(output_paths(out, "a")[0]).shape == (96, 96)
    assert _segment(second, "--out", out, "--overwrite") == 0
    assert read_labels(output_paths(out, "a")[0]).shape == (64, 64)


def test_track_refuses_an_existing_result_unless_overwrite_which_clears_stale_masks(tmp_path,
                                                                                    capsys):
    movie = synthetic.generate("timelapse", seed=0, n_frames=4, shape=(48, 48), n_cells=3)
    for t, labels in enumerate(movie.labels):
        write_labels(tmp_path / "labels" / f"mask{t:03d}.tif", labels)
    out = tmp_path / "RES"
    track = ["track", str(tmp_path / "labels"), "--out", str(out), "--quiet"]
    assert main(track) == 0
    masks, tracks = read_ctc_result(out)
    write_labels(out / "mask009.tif", movie.labels[0])             # a longer sequence's
    assert main(track) == 2
    assert "use --overwrite" in capsys.readouterr().err
    assert (out / "mask009.tif").exists()
    assert main([*track, "--overwrite"]) == 0
    again, again_tracks = read_ctc_result(out)
    assert sorted(again) == sorted(masks) == [0, 1, 2, 3]
    assert again_tracks.tolist() == tracks.tolist()
