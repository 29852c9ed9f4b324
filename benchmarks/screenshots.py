"""Screenshots of the napari plugin: one viewer, synthetic nuclei (never real data), each
microseg widget docked in turn and run, one PNG of the whole window per widget.

    python benchmarks/screenshots.py [--out ~/microseg-runs/screens] [--model default]
                                     [--iterations 20]

Without a display it draws on a private Xvfb server (:func:`microseg.napari.display.
private_display`). Writes into ``--out``:

- ``segment.png``: the Segment widget after its run, the image with its labels layer (whose
  features are the measurements);
- ``evaluate.png``: the Evaluate widget scoring that labels layer against the synthetic
  ground truth (``cells truth``);
- ``annotate.png``: the Annotate widget after five positive points became five objects;
- ``finetune-running.png`` and ``finetune.png``: the Fine-tune widget while it trains (its
  progress bar) and when it has finished (F1 before and after), fine-tuning ``--model`` on
  three synthetic images and their ground truth, in a temporary folder (the new model too, not
  in the user's model folder) deleted at the end.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy import ndimage as ndi

from microseg.data import synthetic
from microseg.napari.display import private_display

#: Window size of the screenshots (pixels).
WINDOW = (1500, 950)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("~/microseg-runs/screens"),
                        help="folder of the PNG files")
    parser.add_argument("--model", default="default", help="model of every widget")
    parser.add_argument("--iterations", type=int, default=20,
                        help="fine-tuning iterations")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DISPLAY"):
        display = private_display(f"{WINDOW[0] + 100}x{WINDOW[1] + 100}x24")
        if display is None:
            sys.exit("no display, and no Xvfb on which Qt starts (apt install xvfb)")
        os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    work = Path(tempfile.mkdtemp(prefix="microseg-screenshots-"))    # fine-tuning, from scratch
    os.environ["MICROSEG_USER_MODELS"] = str(work / "models")          # not the user's models
    import napari
    import napari._qt.qt_main_window

    napari._qt.qt_main_window.SHOW_QT_WARNING = False   # no toast about PyQt5 on the pictures

    viewer = napari.Viewer(title="microseg")
    viewer.window._qt_window.resize(*WINDOW)
    samples = [synthetic.generate("nuclei2d", seed=seed, shape=(256, 256)) for seed in (3, 4, 5)]
    for k, sample in enumerate(samples):
        name = "cells" if k == 0 else f"cells {k + 1}"
        viewer.add_image(sample.image, name=name, visible=k == 0)
        viewer.add_labels(sample.labels, name=f"{name} truth", visible=False)
    viewer.layers.selection.active = viewer.layers["cells"]
    written = [segment(viewer, out, args.model), evaluate(viewer, out),
               annotate(viewer, out, samples[0].labels, args.model),
               *finetune(viewer, out, work, args.model, args.iterations)]
    for path in written:
        print(path)
    viewer.close()
    shutil.rmtree(work)
    return 0


def segment(viewer: Any, out: Path, model: str) -> Path:
    """Segment ``cells`` with the Segment widget → ``segment.png``, with napari's features
    table of the labels layer."""
    widget = dock(viewer, "Segment")
    widget.image.value, widget.model.value = viewer.layers["cells"], model
    widget.post_params.value = "min_size=30"
    widget.start()
    wait(lambda: widget.worker is None)
    print(widget.status.value)
    table, _ = viewer.window.add_plugin_dock_widget("napari", "Features table widget")
    path = screenshot(viewer, out / "segment.png")
    viewer.window.remove_dock_widget(table)
    return path


def evaluate(viewer: Any, out: Path) -> Path:
    """Score ``cells labels`` against ``cells truth`` with the Evaluate widget →
    ``evaluate.png``."""
    viewer.layers["cells truth"].visible = True
    viewer.layers["cells truth"].contour = 2
    widget = dock(viewer, "Evaluate")
    widget.prediction.value = viewer.layers["cells labels"]
    widget.truth.value = viewer.layers["cells truth"]
    widget.start()
    print(widget.status.value)
    path = screenshot(viewer, out / "evaluate.png")
    viewer.layers["cells truth"].visible = False
    return path


def annotate(viewer: Any, out: Path, truth: np.ndarray, model: str) -> Path:
    """Five positive points on five isolated nuclei of ``cells`` → five objects, with the
    Annotate widget → ``annotate.png``."""
    viewer.layers["cells labels"].visible = False
    widget = dock(viewer, "Annotate")
    widget.image.value, widget.model.value = viewer.layers["cells"], model
    widget.add_prompt_layers()
    alone = [i for i in np.unique(truth)[1:] if np.setdiff1d(
        truth[ndi.binary_dilation(truth == i, iterations=3)], [0, i]).size == 0]
    centres = [np.unravel_index(np.argmax(ndi.distance_transform_edt(truth == i)), truth.shape)
               for i in alone[:5]]
    widget.positive.value.add(np.array(centres, dtype=float))
    widget.start()
    print(widget.status.value)
    return screenshot(viewer, out / "annotate.png")


def finetune(viewer: Any, out: Path, work: Path, model: str, iterations: int) -> list[Path]:
    """Fine-tune ``model`` on the three images and their ``… truth`` layers with the Fine-tune
    widget (its files in ``work``) → ``finetune-running.png`` (while it trains) and
    ``finetune.png``."""
    sys.modules.setdefault("triton", None)  # type: ignore[arg-type]   # as the widget does
    for name in ("positive", "negative", "boxes"):
        viewer.layers[name].visible = False
    widget = dock(viewer, "Fine-tune")
    widget.label_layers.value = [layer for layer in viewer.layers if layer.name.endswith("truth")]
    widget.init.value, widget.iterations.value, widget.minutes.value = model, iterations, 0
    widget.model_name.value, widget.folder.value = "screenshots", work
    widget.crop.value = 128
    widget.start()
    wait(lambda: widget.worker is None or widget.progress.value >= iterations // 2)
    running = screenshot(viewer, out / "finetune-running.png")
    wait(lambda: widget.worker is None)
    print(widget.status.value)
    return [running, screenshot(viewer, out / "finetune.png")]


def dock(viewer: Any, name: str) -> Any:
    """The plugin's widget ``name`` docked alone on the right (the menu's way: *Plugins →
    microseg → name*)."""
    for title, docked in list(viewer.window.dock_widgets.items()):
        if title.endswith("(microseg)"):
            viewer.window.remove_dock_widget(getattr(docked, "native", docked))
    register_plugin()
    _, widget = viewer.window.add_plugin_dock_widget("microseg", name)
    return widget


def register_plugin() -> None:
    """The plugin known to napari: from its entry point, else from this checkout's manifest (an
    installed microseg older than the plugin)."""
    import npe2

    manager = npe2.PluginManager.instance()
    if "microseg" not in manager:
        manager.discover()
    if "microseg" not in manager:
        manifest = Path(__file__).parents[1] / "src" / "microseg" / "napari" / "napari.yaml"
        manager.register(npe2.PluginManifest.from_file(manifest))


def wait(condition: Callable[[], bool], timeout: float = 3600.0) -> None:
    """Run Qt's events until ``condition()`` holds; SystemExit after ``timeout`` seconds."""
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            sys.exit(f"timed out after {timeout:.0f} s")
        QApplication.processEvents()
        time.sleep(0.05)


def screenshot(viewer: Any, path: Path) -> Path:
    """The whole window (canvas, layer list, docked widget) as a PNG → ``path``."""
    from qtpy.QtWidgets import QApplication

    viewer.reset_view()
    for _ in range(10):                       # let the canvas and the dock draw
        QApplication.processEvents()
        time.sleep(0.05)
    viewer.screenshot(str(path), canvas_only=False, flash=False)
    return path


if __name__ == "__main__":
    sys.exit(main())
