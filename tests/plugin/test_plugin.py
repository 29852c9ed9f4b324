"""The napari plugin in a viewer: discovered by npe2, opens an image, segments it into a labels
layer with features, turns point prompts into objects, evaluates, fine-tunes, saves labels."""
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from microseg import models, zoo  # noqa: E402
from microseg.data import synthetic  # noqa: E402
from microseg.io.images import read_labels, write_image  # noqa: E402
from microseg.metrics import match  # noqa: E402
from microseg.models.checkpoint import save_checkpoint  # noqa: E402

MANIFEST = Path(__file__).parents[2] / "src" / "microseg" / "napari" / "napari.yaml"


@pytest.fixture
def plugin():
    """The plugin registered with napari's plugin manager: found through its entry point when
    the installed microseg declares it, else from the manifest file (an install older than the
    plugin)."""
    import npe2

    manager = npe2.PluginManager.instance()
    manager.discover()
    if "microseg" not in manager:
        manager.register(npe2.PluginManifest.from_file(MANIFEST))
    return manager


def test_the_manifest_is_valid_and_the_entry_point_names_it():
    import tomllib

    import npe2

    manifest = npe2.PluginManifest.from_file(MANIFEST)
    assert manifest.name == "microseg"
    assert {w.display_name for w in manifest.contributions.widgets} == {
        "Segment", "Evaluate", "Annotate", "Fine-tune"}
    project = tomllib.loads((MANIFEST.parents[3] / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["napari.manifest"] == {
        "microseg": "microseg.napari:napari.yaml"}
    installed = {ep.name: ep.value for ep in entry_points(group="napari.manifest")}
    if "microseg" in installed:                      # an install that has the plugin
        manager = npe2.PluginManager()
        manager.discover()
        assert "microseg" in manager


def _sample(seed=3, shape=(256, 256)):
    return synthetic.generate("nuclei2d", seed=seed, shape=shape)


#: Milliseconds a test waits for a widget's worker thread (a busy 2-core machine).
WORKER_TIMEOUT = 600_000


def test_open_an_image_and_segment_it_into_labels_with_features(viewer, plugin, tmp_path,
                                                                qtbot):
    from microseg.napari.widgets import SegmentWidget

    sample = _sample(shape=(128, 128))
    write_image(tmp_path / "cells.tif", sample.image)
    viewer.open(str(tmp_path / "cells.tif"), plugin="microseg")
    assert viewer.layers["cells"].data.shape == (128, 128)
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.post_params.value = "min_size=30"
    widget.button.clicked.emit()                            # as a click does
    # the click returns at once: the model runs in a worker thread, the button waits for it
    assert widget.worker is not None and not widget.button.enabled
    assert widget.status.value == "segmenting cells with default…"
    qtbot.waitUntil(lambda: widget.worker is None, timeout=WORKER_TIMEOUT)
    assert widget.button.enabled
    layer = viewer.layers["cells labels"]
    ids = np.unique(layer.data)[1:]
    assert widget.status.value == f"{len(ids)} objects in cells labels"
    np.testing.assert_array_equal(layer.features["index"], ids)
    np.testing.assert_array_equal(layer.features["area"], np.bincount(layer.data.ravel())[ids])
    # saved with the plugin's writer as a label TIFF
    layer.save(str(tmp_path / "saved.tif"), plugin="microseg")
    np.testing.assert_array_equal(read_labels(tmp_path / "saved.tif"), layer.data)


def test_five_point_prompts_become_five_objects_and_evaluate_scores_them(viewer):
    from microseg.napari.widgets import AnnotateWidget, EvaluateWidget

    sample = _sample()
    gt = sample.labels
    alone = [i for i in np.unique(gt)[1:]
             if np.setdiff1d(gt[ndi.binary_dilation(gt == i, iterations=3)], [0, i]).size == 0]
    chosen = alone[:5]
    centres = [np.unravel_index(np.argmax(ndi.distance_transform_edt(gt == i)), gt.shape)
               for i in chosen]
    viewer.add_image(sample.image, name="cells")
    widget = AnnotateWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.add_prompt_layers()
    widget.positive.value.add(np.array(centres, dtype=float))
    assert widget.run() == "added 5 object(s) to cells annotations"
    annotations = viewer.layers["cells annotations"].data
    assert set(np.unique(annotations)) == set(range(6))
    for k, i in enumerate(chosen, start=1):
        overlap = ((annotations == k) & (gt == i)).sum() / ((annotations == k) | (gt == i)).sum()
        assert overlap > 0.7
    # Evaluate lists the labels layers as they come and go, and proposes the pair to score
    evaluate = EvaluateWidget(viewer)
    viewer.window.add_dock_widget(evaluate)
    assert [c for c in evaluate.truth.choices] == [viewer.layers["cells annotations"]]
    assert evaluate.run().startswith("choose a prediction and another labels layer")
    truth = gt * np.isin(gt, chosen)
    viewer.add_labels(truth, name="cells truth")
    assert len(evaluate.prediction.choices) == len(evaluate.truth.choices) == 2
    assert evaluate.prediction.value is viewer.layers["cells annotations"]
    assert evaluate.truth.value is viewer.layers["cells truth"]
    evaluate.button.clicked.emit()
    assert f"{match(truth, annotations).f1:.4f}" in evaluate.status.value
    viewer.layers.remove("cells annotations")
    assert list(evaluate.prediction.choices) == [viewer.layers["cells truth"]]


def test_the_finetune_widget_trains_20_iterations_on_layer_pairs(viewer, tmp_path, monkeypatch,
                                                                 qtbot):
    from microseg.napari.widgets import FinetuneWidget

    monkeypatch.setenv("MICROSEG_USER_MODELS", str(tmp_path / "models"))
    torch.manual_seed(0)
    tiny = save_checkpoint(tmp_path / "tiny.pt", models.build("unet", base_channels=4, depth=2),
                           {"target": {"name": "three_class"}})
    for k in range(3):
        sample = _sample(seed=k, shape=(48, 48))
        viewer.add_image(sample.image, name=f"cell{k}")
        viewer.add_labels(sample.labels, name=f"cell{k} labels")
    widget = FinetuneWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.init.value, widget.iterations.value, widget.minutes.value = str(tiny), 20, 0
    widget.model_name.value, widget.folder.value, widget.crop.value = "mine", tmp_path, 48
    # an error in the worker thread comes back to the status line and frees the button
    widget.label_layers.value = [viewer.layers["cell0 labels"]]
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=WORKER_TIMEOUT)
    assert widget.status.value.startswith("error: fine-tuning needs at least 3 groups")
    assert widget.button.enabled
    widget.label_layers.value = [viewer.layers[f"cell{k} labels"] for k in range(3)]
    worker = widget.start()                  # in a worker thread, the viewer stays usable
    assert worker is not None and not widget.button.enabled
    assert not widget.progress.native.isHidden()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=WORKER_TIMEOUT)
    qtbot.waitUntil(lambda: widget.progress.value == 20, timeout=10_000)   # each step shown
    assert widget.progress.max == 20 and widget.progress.native.isHidden()
    message = widget.status.value
    assert message.startswith("model 'mine'") and "20 iterations" in message
    assert (tmp_path / "models" / "mine.pt").is_file()
    assert zoo.available()[-1] == "mine"
