"""Validation: the model through a Predictor → maps → instances → scores, on hand-made
outputs (a pass-through 'network' whose raw output is its input)."""
import numpy as np
import pytest
import torch
from torch import nn

from microseg import targets
from microseg.data.sample import Sample
from microseg.errors import ConfigError
from microseg.infer import Predictor
from microseg.train import PostConfig, ValidationConfig
from microseg.train.validate import (DatasetScores, drop_ignored, predict_maps, resolved_post,
                                     score_dataset, summarize, to_instances, tune_post)


def two_squares():
    labels = np.zeros((32, 32), np.uint16)
    labels[4:12, 4:12] = 1
    labels[18:28, 16:26] = 2
    return labels


def logits_of_classes(classes, channels):
    return torch.from_numpy(10.0 * np.eye(channels, dtype=np.float32)[classes].transpose(2, 0, 1))


class Passthrough(nn.Module):
    """A 'network' whose logits are its input, so the test controls the output exactly."""

    def forward(self, x):
        return x


def passthrough(channels, target):
    """A Predictor of the pass-through network, trained (says its meta) on ``target``."""
    return Predictor(Passthrough(), meta={"in_channels": channels, "target": {"name": target}})


def instances(logits, target, post):
    """Instances of ``(C, Y, X)`` logits through the predictor of a model trained on ``target``."""
    predictor = passthrough(len(logits), target)
    sample = Sample(np.asarray(logits, np.float32), np.zeros(logits.shape[1:], np.uint16), "x")
    return to_instances(predict_maps(predictor, sample), predictor, post)


def test_three_class_output_gives_the_instances():
    labels = two_squares()
    classes = targets.build("three_class")(labels)
    pred = instances(logits_of_classes(classes, 3), "three_class", PostConfig())
    assert pred.max() == 2
    for cell in (1, 2):
        ids = np.unique(pred[labels == cell])
        assert len(ids) == 1 and ids[0] > 0


def test_components_of_class_and_map_outputs():
    labels = two_squares()
    fg = (labels > 0).astype(np.int64)
    pred = instances(logits_of_classes(fg, 2), "fgbg", PostConfig("components"))
    assert pred.max() == 2 and np.array_equal(pred > 0, labels > 0)
    logits = torch.from_numpy(np.where(labels > 0, 4.0, -4.0).astype(np.float32))[None]
    assert np.array_equal(instances(logits, "binary", PostConfig("components")) > 0, labels > 0)
    membrane = instances(-logits, "boundary", PostConfig("components", {"invert": True}))
    assert np.array_equal(membrane > 0, labels > 0)
    with pytest.raises(ConfigError, match="unexpected keyword argument .sigma."):
        instances(logits, "binary", PostConfig("components", {"sigma": 1}))
    with pytest.raises(ConfigError, match="3 class maps"):
        instances(logits, "binary", PostConfig("three_class"))


def test_maps_are_activated_as_deployment_activates_them():
    """A distance map is regressed, so its raw values are thresholded (the sigmoid that
    validation once applied to every map turned a threshold of 0.5 into one of 0)."""
    labels = two_squares()
    logits = np.where(labels > 0, 0.3, -4.0).astype(np.float32)[None]
    assert not instances(logits, "inner_distance", PostConfig("components")).any()
    assert instances(logits, "binary", PostConfig("components")).max() == 2


class MesmerHeads(nn.Module):
    """Pass-through heads: input channels 0–2 are the 'pixelwise' logits, 3 the inner distance."""

    def forward(self, x):
        return {"pixelwise": x[:, :3], "inner_distance": x[:, 3:]}


def test_auto_post_is_resolved_by_the_deployment_rule():
    target = {"heads": {"pixelwise": {"name": "pixelwise"},
                        "inner_distance": {"name": "inner_distance"}}}
    predictor = Predictor(MesmerHeads(), meta={"in_channels": 4, "target": target})
    assert resolved_post(PostConfig(params={"min_size": 3}), predictor) == PostConfig(
        "mesmer_watershed", {"min_size": 3})
    assert resolved_post(PostConfig(head="pixelwise"), predictor) == PostConfig(
        "components", head="pixelwise")
    named = PostConfig("three_class", {"grow": False}, "pixelwise")
    assert resolved_post(named, predictor) == named


def test_drop_ignored_removes_objects_mostly_on_ignored_pixels():
    pred = two_squares()
    ignore = np.zeros(pred.shape, bool)
    ignore[:10, :] = True  # covers 6 of the 8 rows of object 1, none of object 2
    kept = drop_ignored(pred, ignore)
    assert set(np.unique(kept)) == {0, 2}
    assert drop_ignored(pred, None) is pred


def test_score_dataset_of_a_perfect_output():
    labels = two_squares()
    classes = targets.build("three_class")(labels)
    sample = Sample(logits_of_classes(classes, 3).numpy(), labels, name="perfect")
    scores = score_dataset("synthetic", passthrough(3, "three_class"), [sample],
                           ValidationConfig())
    assert scores.values["f1"] == 1.0 and scores.values["ap"] > 0.9
    assert scores.values["iou"] > 0.9 and scores.values["seg"] > 0.9


def test_summarize_means_over_datasets():
    a = DatasetScores("a", {"f1": 1.0, "precision": 1.0, "recall": 1.0, "ap": 0.5, "seg": 0.5,
                            "iou": 0.4, "loss": float("nan")})
    b = DatasetScores("b", {"f1": 0.5, "precision": 0.5, "recall": 0.5, "ap": float("nan"),
                            "seg": 0.7, "iou": 0.6, "loss": 1.0})
    summary = summarize([a, b])
    assert summary["f1"] == 0.75 and summary["ap"] == 0.5 and summary["iou"] == 0.5
    assert summary["loss"] == 1.0 and summary["a/f1"] == 1.0 and summary["b/seg"] == 0.7
    assert "a/f1" not in summarize([a])
    selected = summarize([a, b], select=["b"])
    assert selected["f1"] == 0.5 and selected["seg"] == 0.7 and selected["a/f1"] == 1.0


def _map_sample(labels, faint, spurious=None, bright=False):
    """A sample whose 'image' is the logit map of a one-map output: the labelled objects at
    logit 1 (probability 0.73) when ``faint``, else 4; background -4; a ``spurious`` blob at 1."""
    logits = np.where(labels > 0, 1.0 if faint else 4.0, -4.0).astype(np.float32)
    if spurious is not None:
        logits[spurious] = 1.0
    return Sample(logits[None], labels, name=f"bright {bright}",
                  meta={"bright_background": bright})


def test_tune_post_then_overrides_for_bright_background_images():
    labels = two_squares()
    blob = (slice(28, 31), slice(2, 6))
    dark = _map_sample(labels, faint=True)                       # needs threshold < 0.73
    bright = _map_sample(labels, faint=False, spurious=blob, bright=True)   # needs > 0.73
    datasets = [("mixed", [dark, bright])]
    config = ValidationConfig(post=PostConfig("components"), tune={"threshold": [0.5, 0.8]},
                              tune_bright_background={"threshold": [0.5, 0.8]})
    tuning = tune_post(passthrough(1, "binary"), datasets, config)
    # threshold 0.5: TP 4, FP 1 → F1 8/9; 0.8: dark objects lost, TP 2, FN 2 → F1 4/6
    assert tuning.post.params == {"threshold": 0.5}
    assert tuning.post.bright_background == {"threshold": 0.8}
    assert tuning.metrics["f1"] == 1.0
    assert [row.get("threshold", row.get("bright_background.threshold")) for row in
            tuning.table] == [0.5, 0.8, 0.5, 0.5, 0.8]
    assert [row["f1"] for row in tuning.table] == pytest.approx([8 / 9, 4 / 6, 8 / 9, 8 / 9, 1.0])
    # an override that changes nothing loses the tie to no override
    same = ValidationConfig(post=PostConfig("components"), tune={"threshold": [0.5]},
                            tune_bright_background={"threshold": [0.3]})
    assert tune_post(passthrough(1, "binary"), datasets, same).post.bright_background == {}
    with pytest.raises(ConfigError, match="tune_bright_background maps parameter names"):
        ValidationConfig(tune_bright_background={"threshold": []})
