"""``microseg segment --blockwise`` and ``--memory-limit``: an image read lazily, segmented
block by block into an OME-Zarr image with its NGFF label image, and its measurements."""
import csv

import numpy as np
import pytest
import torch

from torch import nn

from microseg.cli import main
from microseg.data import synthetic
from microseg.infer.predictor import Predictor
from microseg.io.images import read_labels, write_image
from microseg.metrics import match
from microseg.pipelines.files import segment_paths


def _segment(*args):
    return main(["segment", *map(str, args), "--quiet"])


def _read_ngff(path):
    """The image and the label images of an OME-Zarr file, as the reference reader sees them."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Reader

    nodes = list(Reader(parse_url(str(path)))())
    labels = {node.metadata.get("name"): np.asarray(node.data[0]) for node in nodes
              if any(isinstance(spec, Label) for spec in node.specs)}
    return np.asarray(nodes[0].data[0]), labels


def test_blockwise_writes_an_ome_zarr_with_labels_and_the_csv(tmp_path):
    image = synthetic.generate("nuclei2d", seed=3, shape=(256, 224), diameter=20).image
    write_image(tmp_path / "cells.tif", image)
    assert _segment(tmp_path / "cells.tif", "--out", tmp_path / "whole", "--diameter",
                    "model") == 0
    assert _segment(tmp_path / "cells.tif", "--out", tmp_path / "out", "--blockwise",
                    "--block", 128, "--halo", 96) == 0
    stored, labels = _read_ngff(tmp_path / "out" / "cells.ome.zarr")
    np.testing.assert_array_equal(stored, image)
    blockwise = labels["cells"]
    whole = read_labels(tmp_path / "whole" / "cells_labels.tif")
    assert match(whole, blockwise, iou=0.5).f1 >= 0.95
    with open(tmp_path / "out" / "cells.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["label"]) for r in rows] == list(range(1, blockwise.max() + 1))
    assert [int(r["area"]) for r in rows] == np.bincount(blockwise.ravel())[1:].tolist()
    # a rerun finds the unit complete
    assert _segment(tmp_path / "cells.tif", "--out", tmp_path / "out", "--blockwise",
                    "--block", 128, "--halo", 96) == 0
    assert not (tmp_path / "out" / "cells_labels.tif").exists()


def test_an_image_over_the_memory_limit_goes_blockwise_and_a_small_one_does_not(tmp_path):
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    predictor = Predictor(conv.eval(), meta={"activation": "identity", "post": {
        "name": "components", "params": {"threshold": 0.5}}})
    for name, size in (("small", 64), ("large", 640)):
        write_image(tmp_path / "in" / f"{name}.tif",
                    synthetic.generate("nuclei2d", seed=0, shape=(size, size)).image)
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match=r"large\.tif: too large to segment in memory, so "
                                         r"segmented block by block, which writes only "
                                         r"large\.ome\.zarr, large\.csv"):
        run = segment_paths([tmp_path / "in"], out, predictor, memory_limit=175 * 2**20,
                            progress=False)
    assert run.ok and run.objects["large"] > 0
    assert (out / "small_labels.tif").exists() and not (out / "small.ome.zarr").exists()
    assert (out / "large.ome.zarr").is_dir() and (out / "large.csv").exists()
    assert not (out / "large_labels.tif").exists()


def test_blockwise_options_without_blockwise_and_bad_schedulers_are_refused(tmp_path, capsys):
    assert _segment(tmp_path / "x.tif", "--out", tmp_path, "--workers", 2) == 2
    assert "go with --blockwise" in capsys.readouterr().err
    assert _segment(tmp_path / "x.tif", "--out", tmp_path, "--blockwise", "--scheduler",
                    "gpu") == 2
    assert "scheduler must be one of threads, processes, local" in capsys.readouterr().err


def test_blockwise_refuses_outputs_that_need_the_whole_image(tmp_path, capsys):
    assert _segment(tmp_path / "x.tif", "--out", tmp_path, "--blockwise", "--save",
                    "labels,csv") == 2
    assert "--blockwise writes zarr and csv only" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
