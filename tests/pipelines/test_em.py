"""EM pipelines end to end: ``train_edges`` / ``microseg train-edges`` and ``ms.segment(...,
pipeline="em-mc"|"em-lmc")`` / ``microseg segment --pipeline``, with a boundary network whose
output is known: a U-Net whose weights pass the (min-max normalised) input straight through and
whose head turns dark pixels into membrane, sigmoid(6 − 12·x)."""
import csv

import numpy as np
import pytest
import torch
import yaml
from torch import nn

import microseg as ms
from microseg import models
from microseg.cli import main
from microseg.data import synthetic
from microseg.errors import ConfigError, InputError
from microseg.infer.predictor import Predictor
from microseg.io.images import read_array, read_labels, write_image
from microseg.io.isbi import membrane_to_instances, read_em_stack
from microseg.metrics.isbi import vrand_vinfo
from microseg.models.checkpoint import save_checkpoint
from microseg.post.graph import EdgeClassifier, segment_em, train_edge_classifier
from microseg.pipelines.em import boundary_map, em_raw, graph_config, \
    predict_boundary, slice_range, train_edges, training_instances

FOREST = {"forest": {"n_estimators": 10, "n_jobs": 1}}


def membrane_unet() -> nn.Module:
    """Depth-2, one-channel U-Net without normalisation layers: every 3×3 conv of the top level
    copies its last input channel (the input, then the bridged skip), the deeper level and the
    up-sampling are zero, and the 1×1 head computes 6 − 12·x."""
    model = models.build("unet", base_channels=1, depth=2, norm="none", out_channels=1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for block in (model.encoder[0], model.decoder[0]):
            for layer in block:
                layer.conv.weight[0, -1, 1, 1] = 1.0
        model.head.weight.fill_(-12.0)
        model.head.bias.fill_(6.0)
    return model.eval()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    meta = {"target": {"name": "boundary"}, "normalization": {"method": "minmax"}}
    return save_checkpoint(tmp_path_factory.mktemp("model") / "membrane.pt", membrane_unet(),
                           meta)


@pytest.fixture(scope="module")
def stacks():
    """Training (seed 0) and test (seed 1) stacks ``(4, 96, 96)`` with their instance labels;
    noisy enough that thresholding the membrane map splits cells (V_rand about 0.86)."""
    return [synthetic.generate("em", seed=seed, shape=(4, 96, 96), diameter=24.0, noise=0.1)
            for seed in (0, 1)]


@pytest.fixture(scope="module")
def classifier_file(checkpoint, stacks, tmp_path_factory):
    train = stacks[0]
    path = tmp_path_factory.mktemp("rf") / "rf.npz"
    train_edges(train.image, synthetic.isbi_labels(train.labels), checkpoint, path, FOREST,
                progress=False)
    return path


def _one_section_each(labels: np.ndarray) -> bool:
    z = np.broadcast_to(np.arange(len(labels))[:, None, None], labels.shape)
    ids = np.unique(np.stack([labels.ravel(), z.ravel()]), axis=1)[0]
    return len(ids) == len(np.unique(ids))


def test_the_network_sees_membranes(checkpoint, stacks):
    test = stacks[1]
    boundary = predict_boundary(Predictor(checkpoint), test.image)
    assert boundary.shape == test.image.shape and boundary.dtype == np.float32
    membrane = test.labels == 0
    assert boundary[membrane].mean() > 0.7 > 0.3 > boundary[~membrane].mean()


@pytest.mark.parametrize("pipeline", ["em-mc", "em-lmc"])
def test_graph_pipelines_beat_thresholding(checkpoint, stacks, classifier_file, pipeline):
    test = stacks[1]
    labels = ms.segment(test.image, checkpoint, pipeline=pipeline,
                        edge_classifier=classifier_file)
    assert labels.shape == test.image.shape and labels.dtype == np.uint16
    assert np.array_equal(np.unique(labels), np.arange(1, labels.max() + 1))
    assert _one_section_each(labels)                          # "2d" graph mode: per section
    boundary = predict_boundary(Predictor(checkpoint), test.image)
    thresholded = membrane_to_instances(boundary, 0.5, invert=True)
    graph = vrand_vinfo(test.labels, labels, per_slice=True)
    baseline = vrand_vinfo(test.labels, thresholded, per_slice=True)
    assert graph.v_rand >= 0.95 and graph.v_info >= 0.95
    assert graph.v_rand >= baseline.v_rand and graph.v_info >= baseline.v_info


def test_segment_is_boundary_map_raw_and_segment_em(checkpoint, stacks, classifier_file):
    test = stacks[1]
    classifier = EdgeClassifier.load(classifier_file)
    expected = segment_em(predict_boundary(Predictor(checkpoint), test.image),
                          em_raw(test.image), classifier, method="lifted_multicut")
    np.testing.assert_array_equal(
        ms.segment(test.image, checkpoint, pipeline="em-lmc", edge_classifier=classifier),
        expected)
    without = ms.segment(test.image, checkpoint, pipeline="em-mc")     # mean boundary costs
    assert without.shape == test.image.shape and without.min() == 1


def test_train_edges_fits_on_the_chosen_sections(checkpoint, stacks, tmp_path):
    train = stacks[0]
    stack, membrane = train.image, synthetic.isbi_labels(train.labels)
    trained = train_edges(stack, membrane, checkpoint, tmp_path / "rf.npz", FOREST,
                          slices="1:3", progress=False)
    expected = train_edge_classifier(predict_boundary(Predictor(checkpoint), stack[1:3]),
                                     em_raw(stack[1:3]), membrane_to_instances(membrane[1:3]),
                                     graph_config(FOREST))
    loaded = EdgeClassifier.load(tmp_path / "rf.npz")
    features = np.random.default_rng(0).random((50, len(expected.local_features)))
    for classifier in (trained, loaded):
        np.testing.assert_array_equal(classifier.predict_local(features),
                                      expected.predict_local(features))
    assert loaded.config == expected.config and loaded.lifted_forest is not None


def test_em_raw_normalises_each_section_alone(stacks):
    stack = stacks[0].image
    raw = em_raw(stack)
    assert raw.dtype == np.float32 and raw.min() == 0.0 and raw.max() == 1.0
    np.testing.assert_array_equal(raw[2], em_raw(stack[2]))
    np.testing.assert_array_equal(raw[1:3], em_raw(stack[1:3]))
    np.testing.assert_allclose(em_raw(np.stack([stack[0]] * 3, axis=-1)), raw[0], atol=1e-5)


def test_training_labels_membrane_or_instances(stacks):
    labels = stacks[0].labels
    from_membrane = training_instances(synthetic.isbi_labels(labels))
    assert vrand_vinfo(labels, from_membrane, per_slice=True).v_rand == pytest.approx(1.0)
    assert from_membrane.max() > labels.max()                 # new ids in every section
    np.testing.assert_array_equal(training_instances(labels), labels)
    with pytest.raises(InputError, match="whole numbers"):
        training_instances(np.full((2, 4, 4), 0.5))


def test_boundary_of_class_and_map_outputs():
    maps = np.random.default_rng(0).dirichlet(np.ones(3), (8, 8)).transpose(2, 0, 1)
    classes = Predictor(nn.Conv2d(1, 3, 1), meta={"target": {"name": "three_class"}})
    np.testing.assert_allclose(boundary_map(maps.astype(np.float32), classes), 1.0 - maps[2],
                               rtol=1e-6)
    single = Predictor(nn.Conv2d(1, 1, 1), meta={"activation": "sigmoid"})
    np.testing.assert_array_equal(boundary_map(maps[:1].astype(np.float32), single), maps[0]
                                  .astype(np.float32))
    regression = Predictor(nn.Conv2d(1, 2, 1), meta={"activation": "identity"})
    with pytest.raises(ConfigError, match="not classes"):
        boundary_map(maps[:2], regression)


def test_slice_ranges():
    assert slice_range("1:3", 4) == slice(1, 3)
    assert slice_range("2:", 4) == slice(2, 4) and slice_range(":2", 4) == slice(0, 2)
    assert slice_range((0, 4), 4) == slice(0, 4) and slice_range(None, 4) == slice(0, 4)
    for bad in ("3", "a:b", "1:2:3"):
        with pytest.raises(ConfigError, match="A:B"):
            slice_range(bad, 4)
    for outside in ("3:9", "2:2", "-1:2"):
        with pytest.raises(InputError, match="do not select"):
            slice_range(outside, 4)


def test_bad_settings_are_refused(checkpoint, stacks, classifier_file, tmp_path):
    train = stacks[0]
    with pytest.raises(InputError, match="differ in shape"):
        train_edges(train.image, train.labels[:, :90], checkpoint, tmp_path / "a.npz",
                    progress=False)
    with pytest.raises(InputError, match="exists"):
        train_edges(train.image, train.labels, checkpoint, classifier_file, progress=False)
    with pytest.raises(ConfigError, match="EM pipelines only"):
        ms.segment(train.image, checkpoint, edge_classifier=classifier_file)
    with pytest.raises(ConfigError, match="post-processing"):
        ms.segment(train.image, checkpoint, pipeline="em-mc", post="components")
    with pytest.raises(ConfigError, match="pipeline: .em. is not one of cells, em-mc, em-lmc"):
        ms.segment(train.image, checkpoint, pipeline="em")
    local_only = train_edges(train.image, train.labels, checkpoint, tmp_path / "local.npz",
                             FOREST, lifted=False, progress=False)
    with pytest.raises(ConfigError, match="no lifted-edge forest"):
        ms.segment(train.image, checkpoint, pipeline="em-lmc", edge_classifier=local_only)
    assert train_edges(train.image, train.labels, checkpoint, tmp_path / "local.npz",
                       FOREST, overwrite=True, progress=False).lifted_forest is not None


def test_command_line(checkpoint, stacks, tmp_path, capsys):
    train, test = stacks
    for z, section in enumerate(synthetic.isbi_labels(train.labels)):
        write_image(tmp_path / "labels" / f"{z:02d}.png", section)       # a folder of slices
    write_image(tmp_path / "train.tif", train.image, axes="ZYX")        # a multi-page TIFF
    write_image(tmp_path / "test.tif", test.image, axes="ZYX")
    (tmp_path / "graph.yaml").write_text(yaml.safe_dump(FOREST))
    rf = tmp_path / "rf.npz"
    assert main(["train-edges", str(tmp_path / "train.tif"), str(tmp_path / "labels"),
                 "--model", str(checkpoint), "--out", str(rf), "--slices", "0:3",
                 "--config", str(tmp_path / "graph.yaml"), "--lifted-distance", "4",
                 "--quiet"]) == 0
    classifier = EdgeClassifier.load(rf)
    assert classifier.config["graph"]["lifted_distance"] == 4
    assert classifier.config["forest"]["n_estimators"] == 10
    out = tmp_path / "out"
    assert main(["segment", str(tmp_path / "test.tif"), "--pipeline", "em-lmc", "--model",
                 str(checkpoint), "--edge-classifier", str(rf), "--out", str(out),
                 "--quiet"]) == 0
    labels = read_labels(out / "test_labels.tif")
    expected = ms.segment(read_em_stack(tmp_path / "test.tif"), checkpoint, pipeline="em-lmc",
                          edge_classifier=rf)
    np.testing.assert_array_equal(labels, expected)
    assert read_array(out / "test_overlay.png").shape[-1] == 3
    with open(out / "test.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == labels.max()
    capsys.readouterr()
    assert main(["train-edges", str(tmp_path / "train.tif"), str(tmp_path / "labels"),
                 "--model", str(checkpoint), "--out", str(tmp_path / "x.npz"),
                 "--slices", "2:7"]) == 2
    assert "do not select" in capsys.readouterr().err
    assert main(["train-edges", str(tmp_path / "train.tif"), str(tmp_path / "labels"),
                 "--model", str(checkpoint), "--out", str(tmp_path / "local.npz"),
                 "--config", str(tmp_path / "graph.yaml"), "--no-lifted", "--quiet"]) == 0
    assert main(["segment", str(tmp_path / "test.tif"), "--pipeline", "em-lmc", "--model",
                 str(checkpoint), "--edge-classifier", str(tmp_path / "local.npz"),
                 "--out", str(tmp_path / "out2"), "--quiet"]) == 2
    assert "no lifted-edge forest" in capsys.readouterr().err
