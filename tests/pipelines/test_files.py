"""``microseg segment``: outputs per input and the error paths."""
import csv
import json
import shutil

import numpy as np
import pytest
import torch

from microseg import models
from microseg.cli import main
from microseg.data import synthetic
from microseg.io.ctc import write_ctc_sequence
from microseg.io.images import read_array, read_labels, write_image
from microseg.models.checkpoint import save_checkpoint

OUTPUTS = ("{}_labels.tif", "{}_overlay.png", "{}.csv")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = models.build("unet", base_channels=4, depth=2)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "model.pt", model,
                           {"target": {"name": "three_class"}})


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    for i in range(2):
        write_image(folder / f"cell{i}.tif",
                    synthetic.generate("nuclei2d", seed=i, shape=(40, 48)).image)
    return folder


def _outputs(folder, stem):
    return [folder / pattern.format(stem) for pattern in OUTPUTS]


def _segment(*args):
    return main(["segment", *map(str, args), "--quiet"])


def test_writes_labels_overlay_and_measurements_per_input(checkpoint, images, tmp_path):
    out = tmp_path / "out"
    assert _segment(images / "cell0.tif", images / "cell1.tif", "--model", checkpoint,
                    "--out", out) == 0
    for stem in ("cell0", "cell1"):
        labels_path, overlay_path, csv_path = _outputs(out, stem)
        labels = read_labels(labels_path)
        assert labels.shape == (40, 48)
        assert read_array(overlay_path).shape == (40, 48, 3)
        with open(csv_path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [int(r["label"]) for r in rows] == sorted(set(np.unique(labels)) - {0})
    # no temporary files: only the completion record of each input and the run's record
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".microseg"]
    assert sorted(p.name for p in (out / ".microseg").iterdir()) == ["cell0.json", "cell1.json",
                                                                     "runs"]
    [record] = (out / ".microseg" / "runs").iterdir()
    assert record.suffix == ".json" and json.loads(record.read_text())["objects"] == {
        stem: len(set(np.unique(read_labels(_outputs(out, stem)[0]))) - {0})
        for stem in ("cell0", "cell1")}


def test_folders_globs_and_ctc_sequences_are_expanded(checkpoint, images, tmp_path):
    assert _segment(images, "--model", checkpoint, "--out", tmp_path / "a") == 0
    assert all(p.exists() for s in ("cell0", "cell1") for p in _outputs(tmp_path / "a", s))
    assert _segment(images / "cell*.tif", "--model", checkpoint, "--out", tmp_path / "b") == 0
    assert len(list((tmp_path / "b").glob("*_labels.tif"))) == 2
    frames = [synthetic.generate("nuclei2d", seed=s, shape=(32, 32)).image for s in range(3)]
    sequence = write_ctc_sequence(tmp_path / "ctc", 1, frames)
    assert _segment(sequence, "--model", checkpoint, "--out", tmp_path / "c") == 0
    assert sorted(p.name for p in (tmp_path / "c").glob("*_labels.tif")) == [
        "t000_labels.tif", "t001_labels.tif", "t002_labels.tif"]


def test_a_stack_gives_3d_labels_and_volumes(checkpoint, tmp_path):
    stack = synthetic.generate("nuclei3d", seed=0, shape=(6, 32, 40)).image
    write_image(tmp_path / "stack.tif", stack)
    assert _segment(tmp_path / "stack.tif", "--model", checkpoint, "--out", tmp_path / "out",
                    "--spacing", 2, 1, 1, "--instances3d", "stack") == 0
    assert read_labels(tmp_path / "out" / "stack_labels.tif").shape == (6, 32, 40)
    header = (tmp_path / "out" / "stack.csv").read_text().splitlines()[0].split(",")
    assert "volume" in header and "volume_um3" in header


def test_missing_input_is_reported_and_the_others_are_written(checkpoint, images, tmp_path,
                                                              capsys):
    out = tmp_path / "out"
    code = _segment(tmp_path / "absent.tif", images / "cell0.tif", "--model", checkpoint,
                    "--out", out)
    assert code != 0
    assert "absent.tif" in capsys.readouterr().err
    assert all(p.exists() for p in _outputs(out, "cell0"))


def test_a_corrupt_tiff_is_skipped(checkpoint, images, tmp_path, capsys):
    whole = (images / "cell0.tif").read_bytes()
    (images / "broken.tif").write_bytes(whole[: len(whole) // 2])        # truncated file
    out = tmp_path / "out"
    assert _segment(images, "--model", checkpoint, "--out", out) == 1
    assert "broken.tif" in capsys.readouterr().err
    assert not any(p.exists() for p in _outputs(out, "broken"))
    assert all(p.exists() for s in ("cell0", "cell1") for p in _outputs(out, s))


def test_existing_outputs_are_kept_unless_overwrite(checkpoint, images, tmp_path, capsys):
    out = tmp_path / "out"
    assert _segment(images / "cell0.tif", "--model", checkpoint, "--out", out) == 0
    csv_path = _outputs(out, "cell0")[2]
    csv_path.write_text("kept\n")
    assert _segment(images / "cell0.tif", images / "cell1.tif", "--model", checkpoint,
                    "--out", out) == 0
    assert "cell0.tif: complete (--overwrite redoes it)" in capsys.readouterr().out
    assert csv_path.read_text() == "kept\n"
    assert all(p.exists() for p in _outputs(out, "cell1"))
    assert _segment(images / "cell0.tif", "--model", checkpoint, "--out", out,
                    "--overwrite") == 0
    assert csv_path.read_text().startswith("label,")


def test_model_and_option_errors_stop_before_any_output(checkpoint, images, tmp_path, capsys):
    out = tmp_path / "out"
    assert _segment(images, "--model", tmp_path / "none.pt", "--out", out) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert _segment(images, "--model", checkpoint, "--out", out, "--diameter", 20) == 2
    assert "diameter" in capsys.readouterr().err
    assert _segment(images, "--model", checkpoint, "--out", out, "--diameter", "auto") == 2
    assert "training object diameter" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        _segment(images, "--model", checkpoint, "--out", out, "--diameter", "big")
    assert stopped.value.code == 2 and "'auto' or 'model', got 'big'" in capsys.readouterr().err
    assert _segment(images, "--model", checkpoint, "--out", out, "--post", "magic") == 2
    assert not out.exists()


def test_post_params_override_the_models(checkpoint, images, tmp_path, capsys):
    source = images / "cell0.tif"
    everything, nothing = tmp_path / "all", tmp_path / "none"
    for out, threshold in ((everything, 0.0), (nothing, 1.0)):
        assert _segment(source, "--model", checkpoint, "--out", out, "--post", "components",
                        "--post-param", "foreground=2", "--post-param",
                        f"threshold={threshold}") == 0
    # every softmax probability is above 0 and below 1
    assert np.all(read_labels(_outputs(everything, "cell0")[0]) == 1)
    assert not read_labels(_outputs(nothing, "cell0")[0]).any()
    assert _segment(source, "--model", checkpoint, "--out", tmp_path / "bad",
                    "--post-param", "threshold") == 2
    assert "KEY=VALUE" in capsys.readouterr().err


@pytest.fixture
def discs(tmp_path):
    """A float image that is its own foreground mask (12 discs, two touching the border) and
    a model that predicts exactly that mask (:func:`test_cells._identity`)."""
    from skimage.draw import disk

    from microseg.infer.predictor import Predictor

    from .test_cells import FOREGROUND, _identity

    mask = np.zeros((64, 80), np.float32)
    for k, centre in enumerate([(0, 10), (63, 70)] + [(12 + 12 * (k // 5), 10 + 15 * (k % 5))
                                                       for k in range(10)]):
        mask[disk(centre, 4 + k % 3, shape=mask.shape)] = 1
    write_image(tmp_path / "discs.tif", mask)
    return tmp_path / "discs.tif", Predictor(_identity(), meta=FOREGROUND, tile=32, overlap=8)


def test_save_chooses_the_outputs_qupath_fiji_and_ngff_read(discs, tmp_path):
    import json

    import roifile
    import zarr
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    from shapely.geometry import shape

    from microseg.pipelines.files import Outputs, SegmentOptions, segment_paths

    path, model = discs
    out = tmp_path / "out"
    run = segment_paths([path], out, model, options=SegmentOptions(spacing=(0.5, 0.5)),
                        outputs=Outputs(save=("csv", "geojson", "rois", "zarr")), progress=False)
    assert run.ok and run.objects == {"discs": 12}
    assert sorted(p.name for p in out.iterdir()) == [
        ".microseg", "discs.csv", "discs.geojson", "discs.ome.zarr", "discs_rois.zip"]
    with open(out / "discs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert "area_um2" in rows[0] and "perimeter_um" in rows[0]
    labels = np.asarray(zarr.open_group(str(out / "discs.ome.zarr"))["labels/cells/0"])
    ids = sorted(set(np.unique(labels)) - {0})
    assert [int(r["label"]) for r in rows] == ids and len(ids) == 12
    features = json.loads((out / "discs.geojson").read_text())["features"]
    assert [int(f["properties"]["name"]) for f in features] == ids
    assert [shape(f["geometry"]).area for f in features] == [int(r["area"]) for r in rows]
    assert [int(roi.name) for roi in roifile.roiread(out / "discs_rois.zip")] == ids
    image_node = next(iter(Reader(parse_url(str(out / "discs.ome.zarr")))()))
    np.testing.assert_array_equal(np.asarray(image_node.data[0]), read_array(path))
    assert image_node.metadata["coordinateTransformations"][0][0]["scale"] == [0.5, 0.5]


def test_label_tiff_of_a_run_with_spacing_carries_it(checkpoint, images, tmp_path):
    import tifffile

    out = tmp_path / "out"
    assert _segment(images / "cell0.tif", "--model", checkpoint, "--out", out, "--spacing",
                    0.65, 0.65, "--save", "labels") == 0
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["cell0_labels.tif"]
    with tifffile.TiffFile(out / "cell0_labels.tif") as tif:
        np.testing.assert_allclose(tif.pages[0].resolution, (1 / 0.65, 1 / 0.65))
        assert tif.imagej_metadata["unit"] == "um"


def test_unknown_outputs_and_a_lone_zarr_into_input_are_refused(checkpoint, images, tmp_path,
                                                                 capsys):
    out = tmp_path / "out"
    assert _segment(images, "--model", checkpoint, "--out", out, "--save", "labels,pdf") == 2
    assert "unknown output(s) pdf" in capsys.readouterr().err
    assert _segment(images, "--model", checkpoint, "--out", out, "--zarr-into-input") == 2
    assert "needs the zarr output" in capsys.readouterr().err
    assert not out.exists()


def test_labels_go_into_an_ome_zarr_input_when_asked(discs, tmp_path):
    import zarr
    from ome_zarr.writer import write_image

    from microseg.pipelines.files import Outputs, segment_paths

    path, model = discs
    source = tmp_path / "plate.zarr"
    write_image(read_array(path), zarr.open_group(str(source), mode="w"), axes="yx")
    out = tmp_path / "out"
    outputs = Outputs(save=("csv", "zarr"), zarr_into_input=True)
    run = segment_paths([source], out, model, outputs=outputs, progress=False)
    assert run.ok and run.objects == {"plate": 12}
    assert sorted(p.name for p in out.iterdir()) == [".microseg", "plate.csv"]
    labels = zarr.open_group(str(source))["labels/cells/0"][...]
    with open(out / "plate.csv", newline="") as handle:
        assert [int(r["label"]) for r in csv.DictReader(handle)] == sorted(
            set(np.unique(labels)) - {0})
    again = segment_paths([source], out, model, outputs=outputs, progress=False)
    assert again.skipped and "complete" in again.skipped[0][1]
    shutil.rmtree(source / "labels" / "cells")
    redone = segment_paths([source], out, model, outputs=outputs, progress=False)
    assert redone.objects == {"plate": 12}          # an output gone: the unit is redone
    np.testing.assert_array_equal(zarr.open_group(str(source))["labels/cells/0"][...], labels)
