"""Every bundled model (``zoo.bundled()``, so the weights folder or ``MICROSEG_ZOO_DIR``):
it loads, its card tells the truth about it, and it segments synthetic data into a plausible
number of objects, through the API and ``microseg segment --model NAME``."""
import re

import numpy as np
import pytest
import torch

import microseg as ms
from microseg import models, zoo
from microseg.cli import main
from microseg.data import synthetic
from microseg.io.images import read_labels, write_image
from microseg.post.graph import EdgeClassifier
from microseg.post.registry import default_post
from microseg.pipelines.model import bundled_edge_classifier

BUNDLED = zoo.bundled()
FACTOR = 2.0          # found / true object count must lie within [1 / FACTOR, FACTOR]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _sample(card):
    """A synthetic image for the model at its training scale, sparse (a plausibility check of
    the bundled weights; splitting clumps is measured by benchmarks/dsb2018.py and
    benchmarks/cells.py): whole cells in phase contrast (20 % cover, unclustered) for a model
    trained on phase contrast, nuclei (8 % cover, few touching) for the other cell models, one
    EM section for EM models → (image (Y, X), true object count)."""
    diameter = card.input.object_diameter_px
    if "phase contrast" in card.input.modalities:     # cells of the trained size in the image
        scale = zoo.load_model(card.name).meta.scale or 1.0
        sample = synthetic.generate("cells2d", seed=0, shape=(512, 512),
                                    diameter=(diameter or 30.0) / scale, coverage=0.2,
                                    cluster=0.0)
    elif card.pipeline == "cells":
        sample = synthetic.generate("nuclei2d", seed=0, shape=(384, 384),
                                    diameter=diameter or 16.0, coverage=0.08)
    else:
        sample = synthetic.generate("em", seed=0, shape=(256, 256), diameter=diameter or 30.0)
    return sample.image, _count(sample.labels)


def _count(labels):
    return np.count_nonzero(np.unique(labels))


def _assert_plausible(found, truth):
    assert truth / FACTOR <= found <= truth * FACTOR, f"{found} objects found, {truth} drawn"


@pytest.mark.parametrize("name", BUNDLED)
def test_the_card_matches_the_checkpoint(name):
    card = zoo.card(name)
    predictor = zoo.load_model(name)
    assert models.count_parameters(predictor.model) == card.parameters
    assert predictor.in_channels == card.input.channels
    assert card.differences(predictor.meta, [h for h, _ in predictor.heads]) == []


@pytest.mark.parametrize("name", BUNDLED)
def test_segments_a_synthetic_image_into_plausibly_many_objects(name):
    card = zoo.card(name)
    image, truth = _sample(card)
    labels = ms.segment(image, name, pipeline=card.pipeline)
    assert labels.shape == image.shape
    _assert_plausible(_count(labels), truth)


@pytest.mark.parametrize("name", [n for n in BUNDLED if zoo.card(n).edge_classifier])
def test_an_em_model_brings_its_edge_classifier(name):
    card = zoo.card(name)
    path = zoo.edge_classifier_path(name)
    assert path.name == card.edge_classifier
    assert bundled_edge_classifier(name, card.pipeline, None) == path
    classifier = EdgeClassifier.load(path)
    assert classifier.lifted_forest is not None or card.pipeline == "em-mc"
    image, _ = _sample(card)
    by_name = ms.segment(image, name, pipeline=card.pipeline)
    explicit = ms.segment(image, zoo.checkpoint_path(name), pipeline=card.pipeline,
                          edge_classifier=path)
    np.testing.assert_array_equal(by_name, explicit)


@pytest.mark.parametrize("name", BUNDLED)
def test_segment_command_with_a_bundled_model_reports_objects_and_time(name, tmp_path, capsys):
    card = zoo.card(name)
    image, truth = _sample(card)
    write_image(tmp_path / "sample.tif", image)
    args = ["segment", str(tmp_path / "sample.tif"), "--model", name, "--out",
            str(tmp_path / "out"), "--pipeline", card.pipeline, "--threads", "1", "--quiet"]
    assert main(args) == 0
    report = re.search(r"^sample: (\d+) objects, (\d+\.\d) s$", capsys.readouterr().out,
                       re.MULTILINE)
    labels = read_labels(tmp_path / "out" / "sample_labels.tif")
    assert report and int(report[1]) == _count(labels)
    _assert_plausible(int(report[1]), truth)
