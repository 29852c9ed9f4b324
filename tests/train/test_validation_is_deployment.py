"""Validation, tuning and deployment run a model the same way: for every kind of output head, the
post-processing deployment reads from a tuned checkpoint is the tuned one, and the labels
validation scored are the labels deployment writes. No training: untrained models whose output
layer is set by hand so that their maps cross every threshold."""
import numpy as np
import pytest
import torch
import yaml
from torch import nn

import microseg as ms
from microseg import targets
from microseg.data.synthetic import write_synthetic
from microseg.io.images import read_array, write_image
from microseg.post.registry import default_post
from microseg.train import Trainer, train_config
from microseg.train.retune import tune_checkpoint
from microseg.train.validate import predict_maps, score_instances, to_instances

MESMER = {"pixelwise": {"name": "pixelwise"}, "inner_distance": {"name": "inner_distance"}}
#: case → (target, validation post, the method deployment must run); every registered target
#: alone, and the multi-head models with a post-processing of their own.
CASES = {
    **{name: ({"name": name}, {}, "three_class" if name == "three_class" else "components")
       for name in targets.available()},
    "mesmer heads": ({"heads": MESMER}, {}, "mesmer_watershed"),
    "mesmer heads, inner distance named": ({"heads": MESMER}, {"head": "inner_distance"},
                                           "components"),
    "centre heads": ({"heads": {"center_heatmap": {"name": "center_heatmap"},
                                "binary": {"name": "binary"}}}, {}, "center_watershed"),
    "3-class head named": ({"heads": {"pixelwise": {"name": "three_class"},
                                      "inner_distance": {"name": "inner_distance"}}},
                           {"name": "three_class", "head": "pixelwise"}, "three_class"),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A folder source: one training image (000) and two validation images, 001 as generated
    (dark background) and 002 inverted (bright background, which the normalisation inverts
    back, so its own post-processing overrides apply)."""
    root = write_synthetic("nuclei2d", tmp_path_factory.mktemp("pair") / "data", n=3, seed=3,
                           shape=(64, 64))
    bright = root / "images" / "002.tif"
    image = read_array(bright)
    write_image(bright, (image.max() - image).astype(image.dtype))
    (root / "train.txt").write_text("000\n")
    (root / "val.txt").write_text("001\n002\n")
    return root


def loss_for(target):
    """A loss that fits the target (the trainer builds it; no step is taken)."""
    if "heads" in target:
        return {"name": "heads", "params": {"heads": {
            head: loss_for(spec) for head, spec in target["heads"].items()}}}
    return {"name": "ce" if targets.TARGETS.get(target["name"]).kind == "classes" else "mse"}


def configuration(root, target, post):
    """A training configuration over ``root`` with the ``target`` and validation ``post``, and
    grids to tune the post-processing on (a bright-background override recorded beforehand)."""
    return {"data": {"sources": [{
                "kind": "folder", "name": "synth", "images": str(root / "images"),
                "labels": str(root / "labels"), "dark_background": True,
                "ids": {"train": str(root / "train.txt"), "val": str(root / "val.txt")}}]},
            "target": target, "loss": loss_for(target),
            "model": {"name": "unet", "params": {"depth": 2, "base_channels": 8}},
            "iterations": 1, "threads": 1, "seed": 0,
            "validation": {"every": 1, "post": {**post, "bright_background": {"min_size": 3}},
                           "tune": {"min_size": [0, 4]},
                           "tune_bright_background": {"min_size": [6]}}}


def spread_outputs(model, image, gain=3.0):
    """Set the 1×1 output convolutions so that each output channel has mean 0 and standard
    deviation ``gain`` on ``image`` ``(C, Y, X)``: the maps of an untrained network then cross
    every threshold (probabilities from 0.05 to 0.95, distances from -3 to 3)."""
    layers = dict(model.heads.items()) if isinstance(getattr(model, "heads", None),
                                                     nn.ModuleDict) else {None: model.head}
    with torch.no_grad():
        output = model.eval()(torch.from_numpy(image)[None])
        outputs = output if isinstance(output, dict) else {None: output}
        for head, conv in layers.items():
            values = outputs[head][0].flatten(1)
            scale = gain / values.std(1)
            conv.weight.mul_(scale.view(-1, *[1] * (conv.weight.ndim - 1)))
            conv.bias.copy_(scale * (conv.bias - values.mean(1)))


def deployed_labels(checkpoint, samples):
    """Labels ``ms.segment`` gives for the image files of ``samples`` with ``checkpoint``, at the
    model's scale (an untrained model's objects have no size it was trained on, so the adaptive
    scale would segment them again at another)."""
    model = ms.load_model(checkpoint)
    return [ms.segment(read_array(s.meta["path"]), model=model, diameter="model") for s in samples]


def scores(samples, labels):
    """The validation scores of ``labels`` against the samples' ground truth."""
    values = score_instances("synth", samples, labels, iou=0.5).values
    return {k: values[k] for k in ("f1", "ap", "seg", "iou")}


@pytest.mark.parametrize("case", list(CASES))
def test_the_tuned_post_processing_is_deployed_and_gives_the_validated_labels(case, data,
                                                                            tmp_path):
    target, post, method = CASES[case]
    config = configuration(data, target, post)
    trainer = Trainer(train_config(config), tmp_path / "run")
    spread_outputs(trainer.model, trainer.data.val[0][0].image)
    samples = trainer.data.val[0]
    assert [s.meta["bright_background"] for s in samples] == [False, True]
    best = tmp_path / "run" / "best.pt"
    validated = trainer.validate_and_keep()              # writes best.pt as training does
    assert scores(samples, deployed_labels(best, samples)) == pytest.approx(
        {k: validated[k] for k in ("f1", "ap", "seg", "iou")}, nan_ok=True)
    tuning = trainer.tune_best()                         # the tuning at the end of training
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    retuning, retuned = tune_checkpoint(tmp_path / "config.yaml", best,
                                        out=tmp_path / "retuned.pt")     # `microseg tune`
    assert retuning.post == tuning.post
    assert tuning.post.name == method
    validation = trainer.predictor()                     # the model as validation runs it
    expected = {**tuning.post.params, **({"head": tuning.post.head} if tuning.post.head else {})}
    for checkpoint in (best, retuned):
        deployment = ms.load_model(checkpoint)
        heads = [h for h, _ in deployment.heads]
        # (a) deployment runs the tuned method with the tuned parameters
        assert default_post(deployment.meta, heads) == (method, expected)
        assert default_post(deployment.meta, heads, bright_background=True) == (
            method, {**expected, **tuning.post.bright_background})
        # (b) the labels validation scored are the labels deployment gives for the image file
        deployed = deployed_labels(checkpoint, samples)
        for sample, labels in zip(samples, deployed):
            ours = to_instances(predict_maps(validation, sample), validation, tuning.post,
                                sample.meta["bright_background"])
            assert labels.dtype == ours.dtype and np.array_equal(labels, ours)
        assert deployed[0].max() > 0
        # and the tuned scores are those of the deployed labels
        assert scores(samples, deployed) == pytest.approx(
            {k: tuning.metrics[k] for k in ("f1", "ap", "seg", "iou")}, nan_ok=True)
