"""What the napari widgets do, on plain arrays (no Qt)."""
import numpy as np
import pytest
import torch

from microseg import models
from microseg.data import synthetic
from microseg.errors import ConfigError
from microseg.metrics import match
from microseg.models.checkpoint import save_checkpoint
from microseg.napari import logic
from microseg.pipelines.cells import segment


def test_a_segmented_layer_carries_one_feature_row_per_object():
    image = synthetic.generate("nuclei2d", seed=2, shape=(96, 96)).image
    labels, features = logic.segment_layer(image, "default", post_params="min_size=30")
    np.testing.assert_array_equal(labels, segment(image, "default",
                                                  post_params={"min_size": 30}))
    ids = np.unique(labels)[1:]
    np.testing.assert_array_equal(features["index"], ids)
    np.testing.assert_array_equal(features["area"], np.bincount(labels.ravel())[ids])
    assert features["mean_intensity_c0"][0] == pytest.approx(image[labels == ids[0]].mean())


def test_evaluation_text_and_boxes_from_rectangles():
    truth = np.zeros((20, 20), np.uint16)
    truth[2:6, 2:6], truth[10:15, 10:15] = 1, 2
    prediction = truth.copy()
    prediction[10:15, 10:15] = 0
    text = logic.evaluate_layers(prediction, truth, "mine")
    assert text.splitlines()[0] == "mine (matches at IoU 0.5)"
    scores = dict(line.split() for line in text.splitlines()[1:])
    assert (scores["n_true"], scores["n_pred"], scores["tp"], scores["fn"]) == ("2", "1", "1", "1")
    assert float(scores["f1"]) == pytest.approx(match(truth, prediction).f1, abs=1e-4)  # 2/3
    assert float(scores["precision"]) == 1.0
    rectangle = np.array([[2.0, 3.0], [2.0, 9.5], [7.0, 9.5], [7.0, 3.0]])
    assert logic.boxes_from_shapes([rectangle]) == [(2.0, 3.0, 7.0, 9.5)]


def test_labels_layers_pair_with_the_image_their_name_starts_with():
    assert logic.pair_layers(["cells", "cells 2"], ["cells 2 labels", "cells annotations"]) == [
        ("cells 2", "cells 2 labels"), ("cells", "cells annotations")]
    with pytest.raises(ConfigError, match="'other'"):
        logic.pair_layers(["cells"], ["other"])
    assert logic.parse_post_params(" ") is None


def test_evaluate_proposes_a_ground_truth_named_so_else_the_oldest_layer():
    assert logic.evaluation_pair(["a", "b", "c"]) == ("c", "a")
    assert logic.evaluation_pair(["cells labels", "gt", "other"]) == ("other", "gt")
    assert logic.evaluation_pair(["x_GT", "cells labels"]) == ("cells labels", "x_GT")
    assert logic.evaluation_pair(["cells labels", "gtx", "z"]) == ("z", "cells labels")
    assert logic.evaluation_pair(["cells truth", "y"]) == ("y", "cells truth")
    assert logic.evaluation_pair(["only"]) is None


def test_finetuning_on_layer_data_writes_them_and_trains(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROSEG_USER_MODELS", str(tmp_path / "models"))
    torch.manual_seed(0)
    tiny = save_checkpoint(tmp_path / "tiny.pt", models.build("unet", base_channels=4, depth=2),
                           {"target": {"name": "three_class"}})
    pairs = []
    for k in range(3):
        sample = synthetic.generate("nuclei2d", seed=k, shape=(48, 48))
        pairs.append((f"cell {k} labels", sample.image, sample.labels))
    steps = []
    result = logic.finetune_layers(pairs, tmp_path / "work", init=str(tiny), iterations=2,
                                   minutes=None, name="layers", crop=48, batch_size=2,
                                   validate_every=2, progress=False, on_step=steps.append)
    assert steps == [1, 2]                              # each step reported, as the widget shows
    assert sorted(p.name for p in (tmp_path / "work" / "images").iterdir()) == [
        "cell_0_labels.tif", "cell_1_labels.tif", "cell_2_labels.tif"]
    assert result.iterations == 2 and (tmp_path / "models" / "layers.pt").is_file()
