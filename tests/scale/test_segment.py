"""Blockwise segmentation on a real Dask cluster (two worker processes of one thread), on
small images cut into tiny blocks so that objects cross faces and corners: the labels are
those of the whole image, whatever the scheduler and the number of workers."""
import numpy as np
import pytest
import torch
import zarr
from skimage.draw import disk
from torch import nn

import microseg as ms
from microseg.errors import ConfigError
from microseg.infer.predictor import Predictor
from microseg.measure import measure
from microseg.metrics import match
from microseg.scale import segment_blockwise
from microseg.scale.segment import labels_array

pytest.importorskip("distributed")

META = {"activation": "identity", "normalization": {"method": "none"},
        "post": {"name": "components", "params": {"threshold": 0.5}}}


def _identity(dims: int = 2) -> Predictor:
    """A 1×1 convolution returning its input: fed a mask, it predicts that mask."""
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    return Predictor(conv.eval(), meta=META)


def _discs(shape=(150, 130), count=30, radius=(5, 9), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint16)
    for i in range(1, count + 1):
        centre = tuple(int(rng.integers(0, n)) for n in shape)
        labels[disk(centre, int(rng.integers(*radius)), shape=shape)] = i
    return labels


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return len(pairs[0]) == len(np.unique(pairs[0])) == len(np.unique(pairs[1]))


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local:
        yield local.scheduler_address


def test_blockwise_labels_on_a_cluster_are_the_whole_images(cluster, tmp_path):
    image = (_discs() > 0).astype(np.float32)
    predictor = _identity()
    whole = ms.segment(image, predictor, post="distance_watershed")
    result = segment_blockwise(image, predictor, out=tmp_path / "labels.zarr", block=32,
                               halo=24, post="distance_watershed", scheduler=cluster,
                               progress=False)
    labels = zarr.open_array(tmp_path / "labels.zarr")[...]
    assert result.grid.counts == (4, 4) and result.cut_by_halo == 0
    assert match(whole, labels, iou=0.5).f1 >= 0.99
    assert sorted(np.unique(labels)) == list(range(result.count + 1))   # unique, consecutive


def test_worker_counts_and_schedulers_give_identical_labels(cluster, tmp_path):
    image = (_discs(seed=1) > 0).astype(np.float32)
    options = dict(block=(32, 40), halo=16, post="distance_watershed", progress=False)
    one = segment_blockwise(image, _identity(), workers=1, **options).labels[...]
    two = segment_blockwise(image, _identity(), out=tmp_path / "two.zarr", scheduler=cluster,
                            **options).labels[...]
    threads = segment_blockwise(image, _identity(), workers=3, **options).labels[...]
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, threads)


def test_a_stack_segmented_slice_by_slice_is_stitched_across_z_faces(tmp_path):
    truth = np.zeros((24, 60, 60), np.uint16)
    for i, (z0, z1, y, x, r) in enumerate([(0, 20, 20, 20, 8), (5, 24, 30, 45, 10),
                                           (9, 15, 50, 12, 6)], start=1):
        for z in range(z0, z1):
            truth[z][disk((y, x), r, shape=truth.shape[1:])] = i
    image = (truth > 0).astype(np.float32)
    predictor = _identity()
    whole = ms.segment(image, predictor)
    result = segment_blockwise(image, predictor, block=(6, 24, 24), halo=(2, 12, 12),
                               progress=False)
    assert result.grid.counts == (4, 3, 3)
    assert _same_partition(whole, result.labels[...]) and _same_partition(truth, whole)


def test_measurements_per_block_equal_those_of_the_whole_label_image():
    truth = _discs(seed=2)
    image = (truth > 0).astype(np.float32) * np.linspace(1, 2, truth.shape[1], dtype=np.float32)
    predictor = Predictor(_identity().model, meta={**META, "post": {
        "name": "components", "params": {"threshold": 0.9}}})
    result = segment_blockwise(image, predictor, block=32, halo=24, measurements=True,
                               spacing=(0.5, 0.25), progress=False)
    expected = measure(result.labels[...], image, spacing=(0.5, 0.25))
    assert list(result.table) == list(expected) and result.partial == 0
    for name, values in expected.items():
        np.testing.assert_allclose(result.table[name], values, rtol=1e-12, err_msg=name)


def test_a_given_array_is_checked_and_settings_needing_the_whole_image_are_refused(tmp_path):
    image = np.zeros((64, 64), np.float32)
    predictor = _identity()
    misaligned = zarr.create_array(tmp_path / "a.zarr", shape=(64, 64), chunks=(24, 24),
                                   dtype=np.uint32)
    with pytest.raises(ConfigError, match="do not tile the blocks"):
        segment_blockwise(image, predictor, out=misaligned, block=32, halo=8, progress=False)
    with pytest.raises(ConfigError, match="one scale for the whole image"):
        segment_blockwise(image, predictor, diameter="auto", block=32, halo=8)
    with pytest.raises(ConfigError, match="writes labels from other processes"):
        segment_blockwise(image, predictor, scheduler="processes", block=32, halo=8)
    with pytest.raises(ConfigError, match="cells pipeline"):
        segment_blockwise(image, predictor, pipeline="em-mc")
    grid_array = labels_array(segment_blockwise(image, predictor, block=32, halo=8,
                                                progress=False).grid, tmp_path / "b.zarr")
    assert grid_array.chunks == (32, 32)


@pytest.mark.slow
def test_the_default_model_blockwise_agrees_with_the_whole_image(tmp_path):
    from microseg.data import synthetic

    sample = synthetic.generate("nuclei2d", seed=4, shape=(768, 640), diameter=20)
    whole = ms.segment(sample.image, ms.load_model("default", threads=1), diameter="model")
    result = segment_blockwise(sample.image, "default", block=384, scheduler="processes",
                               workers=2, out=tmp_path / "labels.zarr", progress=False)
    assert result.grid.counts == (2, 2) and result.cut_by_halo == 0
    assert match(whole, result.labels[...], iou=0.5).f1 >= 0.99


def test_every_block_runs_the_network_once():
    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return x

    predictor = Predictor(Counting(), meta={**META, "in_channels": 1})
    network = predictor.run.network.model          # the copy the predictor runs
    before = network.calls
    result = segment_blockwise((_discs() > 0).astype(np.float32), predictor, block=40,
                               halo=16, workers=2, progress=False)
    assert network.calls - before == int(np.prod(result.grid.counts)) == 12
