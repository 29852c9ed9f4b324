"""``ms.segment``: image → maps → instances, with models whose maps are known exactly."""
import numpy as np
import pytest
import torch
from skimage.draw import disk
from skimage.measure import regionprops
from torch import nn

import microseg as ms
from microseg import models
from microseg.errors import ConfigError, InputError
from microseg.infer.predictor import Predictor
from microseg.io.ctc import write_ctc_sequence
from microseg.metrics import match
from microseg.models.checkpoint import save_checkpoint
from microseg.pipelines.cells import measured_diameter
from microseg.pipelines.files import segment_paths

FOREGROUND = {"activation": "identity", "normalization": {"method": "none"},
              "post": {"name": "components", "params": {"threshold": 0.5}}}


def _identity() -> nn.Module:
    """A 1×1 convolution returning its input: fed a mask, it predicts that mask as foreground."""
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    return conv.eval()


def _discs(shape, centres, radius) -> np.ndarray:
    labels = np.zeros(shape, np.uint16)
    for i, centre in enumerate(centres, start=1):
        labels[disk(centre, radius, shape=shape)] = i
    return labels


def _same_objects(gt: np.ndarray, pred: np.ndarray) -> bool:
    m = match(gt, pred, iou=0.9)
    return m.tp == len(np.unique(gt)) - 1 and m.fp == 0 and m.fn == 0


def test_segment_2d_finds_the_objects_of_the_maps():
    gt = _discs((60, 80), [(20, 20), (40, 60)], 9)
    predictor = Predictor(_identity(), meta=FOREGROUND, tile=32, overlap=8)
    labels = ms.segment((gt > 0).astype(np.float32), predictor)
    assert labels.dtype == np.uint16 and labels.shape == gt.shape
    assert _same_objects(gt, labels)


def test_post_override_splits_touching_cells():
    gt = _discs((60, 80), [(30, 28), (30, 50)], 12)
    predictor = Predictor(_identity(), meta=FOREGROUND)
    mask = (gt > 0).astype(np.float32)
    assert ms.segment(mask, predictor).max() == 1                # components merge them
    split = ms.segment(mask, predictor, post="distance_watershed")
    assert _same_objects(gt, split)
    assert ms.segment(mask, predictor, post_params={"min_size": 10_000}).max() == 0


def test_bright_background_images_get_the_models_post_for_them():
    gt = _discs((60, 80), [(20, 20), (40, 60)], 9)
    meta = {**FOREGROUND, "normalization": {"method": "none", "dark_background": True},
            "post": {**FOREGROUND["post"], "bright_background": {"min_size": 10_000}}}
    predictor = Predictor(_identity(), meta=meta)
    fluorescence = (gt > 0).astype(np.float32)             # bright objects on a dark background
    bright_field = 1.0 - fluorescence                       # dark objects, inverted by the model
    assert predictor.prediction(fluorescence).bright_background is False
    prediction = predictor.prediction(bright_field)
    assert prediction.bright_background is True
    np.testing.assert_array_equal(prediction.maps[0], fluorescence)
    assert _same_objects(gt, ms.segment(fluorescence, predictor))
    assert ms.segment(bright_field, predictor).max() == 0   # the override drops every object
    # the user's parameters still win over the model's
    assert _same_objects(gt, ms.segment(bright_field, predictor, post_params={"min_size": 0}))


def test_dense_stained_tissue_is_inverted_by_its_colour():
    # purple nuclei covering ~60 % of a pink field: the normalised median is a nucleus's, so
    # the brightness rule alone reads the image as fluorescence and finds the cytoplasm
    centres = [(8 + 16 * i, 8 + 16 * j) for i in range(6) for j in range(6)]
    gt = _discs((96, 96), centres, 7)
    rgb = np.where((gt > 0)[..., None], np.array([90, 60, 150], np.uint8),
                   np.array([230, 150, 200], np.uint8)).astype(np.uint8)
    meta = {**FOREGROUND, "in_channels": 1,
            "normalization": {"method": "percentile", "dark_background": True}}
    predictor = Predictor(_identity(), meta=meta)
    assert predictor.prediction(rgb).bright_background is True
    assert _same_objects(gt, ms.segment(rgb, predictor))
    grey = np.round(rgb.astype(np.float32) @ [0.299, 0.587, 0.114]).astype(np.uint8)
    assert predictor.prediction(grey).bright_background is False
    assert ms.segment(grey, predictor).max() == 1          # the cytoplasm, one object


def test_segment_rescales_and_returns_labels_on_the_image_grid():
    gt = _discs((64, 96), [(30, 30), (30, 70)], 12)
    meta = {**FOREGROUND, "object_diameter": 12.0}
    labels = ms.segment((gt > 0).astype(np.float32), Predictor(_identity(), meta=meta),
                        diameter=24.0)
    assert labels.shape == gt.shape
    assert match(gt, labels, iou=0.8).tp == 2


def test_a_model_trained_on_resampled_images_post_processes_on_its_own_grid():
    # min_size 60 was tuned on the model's grid (images resampled by 0.5): a disc of 12 px
    # radius (452 px, 113 on that grid) is kept, one of 6 px (113 px, 28 on it) is dropped,
    # although on the image grid both are above 60 px
    gt = _discs((64, 96), [(30, 30)], 12) + 2 * (_discs((64, 96), [(30, 75)], 6) > 0)
    meta = {**FOREGROUND, "scale": 0.5,
            "post": {"name": "components", "params": {"threshold": 0.5, "min_size": 60}}}
    labels = ms.segment((gt > 0).astype(np.float32), Predictor(_identity(), meta=meta))
    assert labels.shape == gt.shape and labels.dtype == np.uint16
    assert match(gt == 1, labels, iou=0.85).tp == 1 and labels.max() == 1
    assert not labels[gt == 2].any()
    unscaled = ms.segment((gt > 0).astype(np.float32),
                          Predictor(_identity(), meta={**meta, "scale": None}))
    assert unscaled.max() == 2


def test_labels_resampled_to_a_grid_match_scikit_images_nearest_neighbour():
    from skimage.transform import resize

    from microseg.infer.resample import resize_labels

    labels = np.random.default_rng(0).integers(0, 50, (33, 47)).astype(np.uint16)
    for shape in ((66, 94), (65, 93), (17, 24), (100, 31)):
        expected = resize(labels, shape, order=0, preserve_range=True, anti_aliasing=False)
        resized = resize_labels(labels, shape)
        assert resized.dtype == labels.dtype
        np.testing.assert_array_equal(resized, expected.astype(np.uint16))


def _eroding(width: int = 5) -> nn.Module:
    """Mean over a ``width``² window: thresholded at 0.999 it keeps the pixels whose whole
    window is inside a mask, an erosion by ``width // 2`` pixels *at the network's scale*."""
    conv = nn.Conv2d(1, 1, width, padding=width // 2, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0 / width**2)
    return conv.eval()


def _mean_radius(labels: np.ndarray) -> float:
    return float(np.mean([np.sqrt(r.area / np.pi) for r in regionprops(labels)]))


def test_auto_diameter_segments_again_at_the_scale_of_the_first_pass_objects():
    gt = _discs((160, 160), [(45, 45), (45, 115), (115, 80)], 24)
    meta = {**FOREGROUND, "object_diameter": 12.0,
            "post": {"name": "components", "params": {"threshold": 0.999}}}
    predictor = Predictor(_eroding(), meta=meta)
    mask = (gt > 0).astype(np.float32)
    first = ms.segment(mask, predictor)
    assert 21 < _mean_radius(first) < 23                  # eroded by 2 px at scale 1
    auto = ms.segment(mask, predictor, diameter="auto")
    # the first pass measures ~43 px, so the network runs at 12 / 43 of the image's scale,
    # where its 2 px erosion (and the blur of shrinking) takes far more of each disc
    measured = 2 * np.sqrt(np.median([r.area for r in regionprops(first)]) / np.pi)
    np.testing.assert_array_equal(auto, ms.segment(mask, predictor, diameter=measured))
    assert _mean_radius(auto) < _mean_radius(first) - 5
    assert match(gt, auto, iou=0.1).tp == 3 == auto.max()


def test_auto_diameter_keeps_the_first_pass_when_objects_already_have_the_models_size():
    gt = _discs((64, 96), [(30, 30), (30, 70)], 6)
    predictor = Predictor(_identity(), meta={**FOREGROUND, "object_diameter": 12.0})
    mask = (gt > 0).astype(np.float32)
    np.testing.assert_array_equal(ms.segment(mask, predictor, diameter="auto"),
                                  ms.segment(mask, predictor))
    assert ms.segment(np.zeros((32, 32), np.float32), predictor, diameter="auto").max() == 0


def test_default_rescales_only_objects_outside_the_trained_size_range():
    gt = _discs((160, 160), [(45, 45), (45, 115), (115, 80)], 24)
    mask = (gt > 0).astype(np.float32)
    post = {"name": "components", "params": {"threshold": 0.999}}
    # trained on 8–20 px objects: the first pass measures ~43 px, above 20 · 1.25 → rescaled,
    # exactly as diameter="auto" does
    narrow = Predictor(_eroding(), meta={**FOREGROUND, "object_diameter": 12.0, "post": post,
                                         "object_diameter_range": [8.0, 20.0]})
    np.testing.assert_array_equal(ms.segment(mask, narrow),
                                  ms.segment(mask, narrow, diameter="auto"))
    fixed = ms.segment(mask, narrow, diameter="model")
    assert 21 < _mean_radius(fixed) < 23                  # never rescaled
    assert not np.array_equal(ms.segment(mask, narrow), fixed)
    # trained on 8–40 px objects: 43 px lies within 40 · 1.25, the first pass is kept
    wide = Predictor(_eroding(), meta={**FOREGROUND, "object_diameter": 12.0, "post": post,
                                       "object_diameter_range": [8.0, 40.0]})
    np.testing.assert_array_equal(ms.segment(mask, wide), fixed)
    # a model without a recorded range keeps its scale
    plain = Predictor(_eroding(), meta={**FOREGROUND, "object_diameter": 12.0, "post": post})
    np.testing.assert_array_equal(ms.segment(mask, plain), fixed)


class _Cutting(nn.Module):
    """Returns its input with every 64th row and column of the network's grid set to 0: as a
    network with a limited field of view does, it cuts objects wider than 64 px of its input
    into pieces, and leaves smaller ones whole."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        out[..., ::64, :] = 0
        out[..., :, ::64] = 0
        return out


def test_default_sees_whole_nuclei_the_models_scale_would_cut_into_in_range_pieces():
    # discs 96 px across at the centres of 256 px cells: at the model's scale the cuts at 128
    # quarter each disc into pieces ~48 px across, inside the trained 8–60 px; the probe at 1/4
    # scale sees 24 px discs between its cuts (at 0 and 64 of its grid, 0 and 256 here)
    gt = _discs((512, 512), [(128, 128), (128, 384), (384, 128), (384, 384)], 48)
    mask = (gt > 0).astype(np.float32)
    predictor = Predictor(_Cutting().eval(), meta={**FOREGROUND, "in_channels": 1,
                                                   "object_diameter": 12.0,
                                                   "object_diameter_range": [8.0, 60.0]})
    fixed = ms.segment(mask, predictor, diameter="model")
    assert fixed.max() == 16 and 40 < measured_diameter(fixed) < 60
    found = ms.segment(mask, predictor)
    assert match(gt, found, iou=0.8).tp == 4 == found.max()
    # 96 px objects ask for 12 / 96 of the image's scale, kept at the probe's 1/4: the probe is
    # the answer, no other pass
    np.testing.assert_array_equal(found, ms.segment(mask, predictor, diameter=48.0))
    # the same objects dark on a bright background: no probe (coarse views of bright-field
    # texture look like compact blobs), the model's scale is kept
    bright = Predictor(_Cutting().eval(), meta={
        **predictor.meta, "normalization": {"method": "none", "dark_background": True}})
    np.testing.assert_array_equal(ms.segment(1.0 - mask, bright),
                                  ms.segment(1.0 - mask, bright, diameter="model"))


def test_the_probe_leaves_alone_clumps_of_small_nuclei_it_merges():
    # plus-shaped clumps of nine 12 px discs 1 px apart: merged at 1/4 scale into crosses ~36 px
    # across, above the trained 8–20 px, but far from convex, so the model's scale is kept
    arm = [(0, 0), (0, 13), (0, 26), (0, -13), (0, -26), (13, 0), (26, 0), (-13, 0), (-26, 0)]
    centres = [(cy + dy, cx + dx) for cy, cx in [(50, 50), (50, 150), (150, 100)]
               for dy, dx in arm]
    gt = _discs((200, 200), centres, 6)
    mask = (gt > 0).astype(np.float32)
    predictor = Predictor(_identity(), meta={**FOREGROUND, "object_diameter": 12.0,
                                             "object_diameter_range": [8.0, 20.0]})
    probe = ms.segment(mask, predictor, diameter=48.0)
    assert probe.max() == 3 and measured_diameter(probe) > 25
    found = ms.segment(mask, predictor)
    np.testing.assert_array_equal(found, ms.segment(mask, predictor, diameter="model"))
    assert _same_objects(gt, found)


def test_the_probe_does_not_rescale_on_one_or_two_large_blobs():
    # one 100 px disc beside small nuclei (a bright cluster read as one blob at the coarse
    # scale, as on a DSB image that went to a single object): too few to call the image's scale
    centres = [(40 + 30 * i, 300 + 30 * j) for i in range(4) for j in range(6)]
    gt = _discs((256, 512), [(128, 128)] + centres, 6)
    gt[_discs((256, 512), [(128, 128)], 50) > 0] = 1
    mask = (gt > 0).astype(np.float32)
    predictor = Predictor(_identity(), meta={**FOREGROUND, "object_diameter": 12.0,
                                             "object_diameter_range": [8.0, 20.0]})
    found = ms.segment(mask, predictor)
    np.testing.assert_array_equal(found, ms.segment(mask, predictor, diameter="model"))
    assert found.max() == 25
    # three such blobs are a scale: the probe rescales (each found whole, small ones dropped)
    three = _discs((512, 512), [(128, 128), (128, 384), (384, 256)], 50)
    rescaled = ms.segment((three > 0).astype(np.float32), predictor)
    assert match(three, rescaled, iou=0.8).tp == 3


def test_auto_diameter_needs_the_models_diameter_and_no_pixel_size():
    mask = (_discs((40, 40), [(20, 20)], 6) > 0).astype(np.float32)
    with pytest.raises(ConfigError, match="training object diameter"):
        ms.segment(mask, Predictor(_identity(), meta=FOREGROUND), diameter="auto")
    predictor = Predictor(_identity(), meta={**FOREGROUND, "object_diameter": 12.0})
    with pytest.raises(ConfigError, match="pixel size"):
        ms.segment(mask, predictor, diameter="auto", pixel_size=0.5)
    with pytest.raises(ConfigError, match="positive number"):
        ms.segment(mask, predictor, diameter="big")


def test_measured_diameter_is_the_median_equivalent_diameter():
    labels = _discs((80, 80), [(20, 20), (20, 60), (60, 40)], 9)
    labels[disk((60, 40), 15, shape=labels.shape)] = 3
    expected = np.median([r.equivalent_diameter_area for r in regionprops(labels)])
    assert measured_diameter(labels) == pytest.approx(expected)
    stack = np.stack([labels, labels])                    # per plane: the same discs
    assert measured_diameter(stack, slicewise=True) == pytest.approx(expected)
    assert measured_diameter(stack) == pytest.approx(
        np.median([r.equivalent_diameter_area for r in regionprops(stack)]))
    assert measured_diameter(np.zeros((8, 8), np.uint16)) is None


def _balls(shape, centres, radius, spacing) -> np.ndarray:
    grid = np.stack(np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)],
                                indexing="ij"), axis=-1)
    labels = np.zeros(shape, np.uint16)
    for i, centre in enumerate(centres, start=1):
        labels[np.linalg.norm(grid - np.asarray(centre), axis=-1) <= radius] = i
    return labels


@pytest.mark.parametrize("instances3d", ["stack", "stitch"])
def test_a_2d_model_on_a_stack_gives_3d_instances(instances3d):
    spacing = (2.0, 1.0, 1.0)
    gt = _balls((12, 40, 60), [(10, 20, 15), (12, 20, 45)], 9, spacing)
    predictor = Predictor(_identity(), meta=FOREGROUND)
    labels = ms.segment((gt > 0).astype(np.float32), predictor, instances3d=instances3d,
                        spacing=spacing)
    assert labels.shape == gt.shape
    assert _same_objects(gt, labels)


def test_stitching_keeps_apart_cells_that_touch_across_slices():
    stack = np.zeros((2, 12, 24), np.float32)
    stack[0, 2:10, 0:10] = stack[0, 2:10, 11:21] = 1      # A and B, apart in slice 0
    stack[1, 2:10, 0:8] = stack[1, 2:10, 9:21] = 1        # B reaches under A's column 9
    predictor = Predictor(_identity(), meta=FOREGROUND)
    assert ms.segment(stack, predictor, instances3d="stack").max() == 1      # merged in 3D
    stitched = ms.segment(stack, predictor)
    assert stitched.max() == 2
    assert stitched[0, 5, 5] == stitched[1, 5, 5] != stitched[0, 5, 15] == stitched[1, 5, 15]


def test_touching_balls_are_split_in_3d_with_the_voxel_size():
    spacing = (2.0, 1.0, 1.0)
    gt = _balls((14, 30, 56), [(13, 15, 17), (13, 15, 36)], 10, spacing)
    predictor = Predictor(_identity(), meta=FOREGROUND)
    labels = ms.segment((gt > 0).astype(np.float32), predictor, post="distance_watershed",
                        post_params={"min_distance": 4}, spacing=spacing)
    assert match(gt, labels, iou=0.8).tp == 2


def test_segment_with_a_checkpoint_path(tmp_path):
    torch.manual_seed(0)
    model = models.build("unet", base_channels=4, depth=2)
    path = save_checkpoint(tmp_path / "m.pt", model, {"target": {"name": "three_class"},
                                                      "post": {"name": "auto", "params": {}}})
    image = np.random.default_rng(0).random((33, 47))
    labels = ms.segment(image, path)
    assert labels.shape == (33, 47) and labels.dtype == np.uint16
    expected = ms.segment(image, Predictor(path), post="three_class")
    np.testing.assert_array_equal(labels, expected)


def test_a_missing_checkpoint_path_is_named():
    with pytest.raises(InputError, match="checkpoint not found"):
        ms.load_model("/no/such/model.pt")


def test_segment_is_a_function_and_no_module_shares_its_name():
    import importlib.util

    assert callable(ms.segment) and ms.segment.__module__ == "microseg.pipelines.cells"
    assert importlib.util.find_spec("microseg.segment") is None


def test_a_ctc_sequence_is_normalised_over_all_its_frames(tmp_path):
    bright = _discs((32, 32), [(16, 16)], 6).astype(np.float32) * 100
    sequence = write_ctc_sequence(tmp_path / "ctc", 1, [bright, bright * 0.3])
    meta = {**FOREGROUND, "normalization": {"method": "sequence"}}
    run = segment_paths([sequence], tmp_path / "out", Predictor(_identity(), meta=meta),
                        progress=False)
    assert run.ok and sorted(run.written) == ["t000", "t001"]
    rows = [len((tmp_path / "out" / f"{t}.csv").read_text().splitlines()) - 1
            for t in ("t000", "t001")]
    assert rows == [1, 0]        # the dim frame stays below 0.5 of the sequence's maximum
    alone = segment_paths([sequence / "t001.tif"], tmp_path / "alone",
                          Predictor(_identity(), meta=meta), progress=False)
    assert alone.ok and len((tmp_path / "alone" / "t001.csv").read_text().splitlines()) == 2


@pytest.mark.slow
def test_a_briefly_trained_model_segments_synthetic_nuclei(tmp_path):
    from microseg.data import synthetic
    from microseg.data.sample import Sample
    from microseg.preprocess import normalize_percentile
    from microseg.train import Datasets, train, train_config

    def samples(seed, n):
        out = []
        for i in range(n):
            s = synthetic.generate("nuclei2d", seed=seed + i, shape=(96, 96), diameter=14)
            image = normalize_percentile(s.image.astype(np.float32))[None]
            out.append(Sample(image.astype(np.float32), s.labels, name=f"n{seed + i}"))
        return out

    config = train_config({
        "data": {"sources": [{"kind": "folder", "name": "n", "images": "x", "labels": "y"}]},
        "model": {"name": "unet", "params": {"depth": 3, "base_channels": 8}},
        "target": {"name": "three_class"}, "loss": {"name": "weighted_ce"},
        "optimizer": {"name": "adam", "lr": 3e-3, "weight_decay": 0.0},
        "iterations": 150, "batch_size": 4, "crop": 64, "validation": {"every": 150},
        "threads": 2, "seed": 0})
    data = Datasets(["n"], [samples(0, 6)], [samples(100, 1)], ["n"])
    result = train(config, out=tmp_path, datasets=data, progress=False)
    test = synthetic.generate("nuclei2d", seed=500, shape=(128, 128), diameter=14)
    labels = ms.segment(test.image, result.last, tta="mean")
    assert match(test.labels, labels, iou=0.5).f1 > 0.6
    onnx = ms.segment(test.image, Predictor(result.last, backend="onnxruntime"), tta="mean")
    assert match(labels, onnx, iou=0.9).f1 > 0.98


def test_segment_with_measure_gives_the_labels_and_their_table():
    import pandas as pd

    from microseg.measure import measure

    gt = _discs((60, 80), [(20, 20), (40, 60)], 9)
    image = (gt > 0).astype(np.float32)
    predictor = Predictor(_identity(), meta=FOREGROUND, tile=32, overlap=8)
    plain = ms.segment(image, predictor)
    result = ms.segment(image, predictor, measure=True, spacing=(0.5, 0.5))
    labels, table = result                             # unpacks as (labels, table)
    np.testing.assert_array_equal(result.labels, plain)
    expected = measure(plain, image, spacing=(0.5, 0.5))
    frame = pd.DataFrame(table)
    assert list(frame.columns) == list(expected) and len(frame) == 2
    for name, values in expected.items():
        np.testing.assert_array_equal(frame[name].to_numpy(), values, err_msg=name)
    np.testing.assert_allclose(frame["area_um2"], frame["area"] * 0.25)
