"""The plugin's dock widgets (npe2 ``widgets`` contributions): Segment, Evaluate, Annotate,
Fine-tune. Each is a magicgui :class:`~magicgui.widgets.Container` built for one viewer, whose
button calls its ``run`` method: Evaluate and Annotate do their work there (with
:mod:`microseg.napari.logic`) and return the status text; Segment and Fine-tune return a
:class:`Job` whose work runs in a napari worker thread, so the viewer stays responsive, with a
progress bar, the result put in the viewer when it is done. Tests call ``run`` or ``start``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import napari
import numpy as np
from magicgui.widgets import (CheckBox, ComboBox, Container, FileEdit, FloatSpinBox, LineEdit,
                              ProgressBar, PushButton, Select, SpinBox, TextEdit)
from napari.layers import Image, Labels, Layer, Points, Shapes

from microseg.errors import MicrosegError
from microseg.napari import logic

TTA = ["none", "mean", "max"]


def _layer_choices(viewer: "napari.Viewer", kind: type[Layer],
                   optional: bool = False) -> Callable[[Any], list[Any]]:
    """Choices of a combo box: the viewer's layers of ``kind`` (with None first when
    ``optional``)."""
    def choices(_: Any) -> list[Any]:
        layers = [(layer.name, layer) for layer in viewer.layers if isinstance(layer, kind)]
        return ([("(none)", None)] if optional else []) + layers

    return choices


@dataclass
class Job:
    """A widget's long task: ``work`` runs in a worker thread (plain data in, no Qt, no
    viewer); ``done`` gets its result on the UI thread, puts it in the viewer and returns the
    status text; ``busy`` is the status text meanwhile."""

    work: Callable[[], Any]
    done: Callable[[Any], str]
    busy: str


class _ViewerWidget(Container):
    """A container whose layer choices follow the viewer's layers, with a status line that
    shows each run's result or the error that stopped it, and a progress bar shown while a
    :class:`Job` runs."""

    def __init__(self, viewer: "napari.Viewer", widgets: list[Any], button: str):
        self.viewer = viewer
        self.button = PushButton(text=button)
        self.status = TextEdit(value="", label="result")
        self.status.native.setReadOnly(True)
        self.status.native.setStyleSheet("font-family: monospace;")           # for tables
        self.progress = ProgressBar(label="progress", min=0, max=0, visible=False)
        #: the worker thread of the running job, None when idle
        self.worker: Any = None
        super().__init__(widgets=[*widgets, self.button, self.progress, self.status])
        self.button.changed.connect(self.start)
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed,
                      viewer.layers.events.reordered):
            event.connect(lambda *_: self.reset_choices())
        self.reset_choices()

    def start(self, *_: Any) -> Any:
        """What the button does: :meth:`run`; its text goes to the status line, its
        :class:`Job` to a napari worker thread (button disabled until it ends) → that worker
        (None when there was nothing to run in the background)."""
        from napari.qt.threading import create_worker

        try:
            job = self.run()
        except MicrosegError as exc:
            job = f"error: {exc}"
        if isinstance(job, str):
            self.status.value = job
            return None
        self.status.value, self.button.enabled = job.busy, False
        self.progress.min, self.progress.max, self.progress.value = 0, 0, 0   # busy
        self.progress.native.setFormat("%p%")
        self.progress.visible = True
        self.worker = create_worker(job.work, _start_thread=True, _connect={
            "returned": lambda result: self._done(job, result), "errored": self._failed,
            "finished": self._finished})
        return self.worker

    def _done(self, job: Job, result: Any) -> None:
        try:
            self.status.value = job.done(result)
        except MicrosegError as exc:
            self.status.value = f"error: {exc}"
            return
        napari.utils.notifications.show_info(self.status.value)

    def _failed(self, exc: Exception) -> None:
        self.status.value = f"error: {exc}"
        if not isinstance(exc, MicrosegError):          # a bug: napari shows the traceback
            raise exc

    def _finished(self) -> None:
        self.worker, self.button.enabled, self.progress.visible = None, True, False

    def show_progress(self, value: int, maximum: int, text: str) -> None:
        """The progress bar at ``value`` of ``maximum`` with ``text`` (``%v``: value, ``%m``:
        maximum, ``%p``: percent; Qt's format); called on the UI thread."""
        self.progress.max, self.progress.value = maximum, min(value, maximum)
        self.progress.native.setFormat(text)

    def run(self) -> str | Job:
        raise NotImplementedError


class SegmentWidget(_ViewerWidget):
    """Segment an image layer into a labels layer ``<image> labels`` whose features are the
    objects' measurements."""

    def __init__(self, napari_viewer: "napari.Viewer"):
        from microseg.post.registry import available

        self.image = ComboBox(label="image", choices=_layer_choices(napari_viewer, Image))
        self.model = LineEdit(label="model", value="default",
                              tooltip="a model name (microseg models list) or a checkpoint path")
        self.channel_axis = SpinBox(label="channel axis", value=-1, min=-1, max=5,
                                    tooltip="axis of the model's input channels; -1: grey or "
                                            "RGB")
        self.diameter = FloatSpinBox(label="diameter (px)", value=0.0, min=0.0, max=10000.0,
                                     tooltip="typical object diameter; 0: the model's scale")
        self.auto = CheckBox(label="auto diameter", value=False,
                             tooltip="measure the diameter on a first pass")
        self.tta = ComboBox(label="TTA", choices=TTA, value="none")
        self.post = ComboBox(label="post-processing", choices=[logic.MODEL_POST, *available()],
                             value=logic.MODEL_POST)
        self.post_params = LineEdit(label="post parameters", value="",
                                    tooltip="e.g. min_size=20, seed_threshold=0.6")
        super().__init__(napari_viewer, [self.image, self.model, self.channel_axis,
                                         self.diameter, self.auto, self.tta, self.post,
                                         self.post_params], "Segment")

    def run(self) -> str | Job:
        layer = self.image.value
        if layer is None:
            return "add an image layer first"
        diameter = "auto" if self.auto.value else (self.diameter.value or None)
        channel_axis = None if self.channel_axis.value < 0 else self.channel_axis.value
        logic.parse_post_params(self.post_params.value)            # a typo fails at once
        image, model, tta = np.asarray(layer.data), self.model.value, self.tta.value
        post, post_params = self.post.value, self.post_params.value

        def work() -> tuple[np.ndarray, dict[str, np.ndarray]]:
            return logic.segment_layer(image, model, diameter=diameter, tta=tta, post=post,
                                       post_params=post_params, channel_axis=channel_axis)

        return Job(work, lambda result: self.add_labels(layer, *result),
                   f"segmenting {layer.name} with {model}…")

    def add_labels(self, layer: Image, labels: np.ndarray,
                   features: dict[str, np.ndarray]) -> str:
        """Labels of image ``layer`` as layer ``<image> labels`` (replaced when there is one)
        with the measurements as its features → the status text."""
        name = f"{layer.name}{logic.LABELS_SUFFIX}"
        if name in self.viewer.layers:
            target = self.viewer.layers[name]
            target.data, target.features = labels, features
        else:
            self.viewer.add_labels(labels, name=name, features=features, scale=layer.scale[-2:]
                                   if labels.ndim == 2 else layer.scale[-labels.ndim:])
        return f"{len(features['index'])} objects in {name}"


class EvaluateWidget(_ViewerWidget):
    """Score a labels layer against a ground-truth labels layer."""

    def __init__(self, napari_viewer: "napari.Viewer"):
        self.prediction = ComboBox(label="prediction", choices=_layer_choices(napari_viewer,
                                                                              Labels))
        self.truth = ComboBox(label="ground truth", choices=_layer_choices(napari_viewer, Labels))
        self.iou = FloatSpinBox(label="F1 at IoU", value=0.5, min=0.05, max=0.95, step=0.05)
        super().__init__(napari_viewer, [self.prediction, self.truth, self.iou], "Evaluate")

    def reset_choices(self, *_: Any) -> None:
        """The choices follow the labels layers; while prediction and ground truth are the same
        layer (as when the widget opens), they become :func:`~microseg.napari.logic.
        evaluation_pair`'s proposal."""
        super().reset_choices()
        if self.prediction.value is not self.truth.value:
            return
        pair = logic.evaluation_pair([layer.name for layer in self.viewer.layers
                                      if isinstance(layer, Labels)])
        if pair is not None:
            self.prediction.value, self.truth.value = (self.viewer.layers[name] for name in pair)

    def run(self) -> str:
        prediction, truth = self.prediction.value, self.truth.value
        if prediction is None or truth is None or prediction is truth:
            return "choose a prediction and another labels layer as ground truth"
        return logic.evaluate_layers(prediction.data, truth.data, prediction.name,
                                     self.iou.value)


class AnnotateWidget(_ViewerWidget):
    """Prompts → objects: the positive points (one object each), negative points and boxes of
    the chosen layers become new objects of a labels layer (``<image> annotations`` unless
    another is chosen), with a microseg model or SAM. Fix them with napari's own brush and
    eraser on that layer."""

    def __init__(self, napari_viewer: "napari.Viewer"):
        self.image = ComboBox(label="image", choices=_layer_choices(napari_viewer, Image))
        self.backend = ComboBox(label="backend", choices=["microseg", "sam"], value="microseg")
        self.model = LineEdit(label="model", value="default")
        self.sam_checkpoint = FileEdit(label="SAM weights", mode="r", value="",
                                       filter="*.pth *.pt")
        self.sam_type = ComboBox(label="SAM type", choices=["vit_b", "vit_l", "vit_h"])
        self.positive = ComboBox(label="positive points",
                                 choices=_layer_choices(napari_viewer, Points, True))
        self.negative = ComboBox(label="negative points",
                                 choices=_layer_choices(napari_viewer, Points, True))
        self.boxes = ComboBox(label="boxes", choices=_layer_choices(napari_viewer, Shapes, True))
        self.target = ComboBox(label="add to", choices=_layer_choices(napari_viewer, Labels, True))
        self.add_prompts = PushButton(text="Add prompt layers")
        self.add_prompts.changed.connect(self.add_prompt_layers)
        self._prompters: dict[tuple[Any, ...], Any] = {}
        super().__init__(napari_viewer, [self.image, self.backend, self.model,
                                         self.sam_checkpoint, self.sam_type, self.add_prompts,
                                         self.positive, self.negative, self.boxes, self.target],
                         "Add objects")

    def add_prompt_layers(self, *_: Any) -> None:
        """Points layers ``positive`` (green) and ``negative`` (red) and a shapes layer
        ``boxes`` (rectangles), chosen in the widget."""
        viewer = self.viewer
        positive = viewer.add_points(name="positive", face_color="lime", size=8, ndim=2)
        negative = viewer.add_points(name="negative", face_color="red", size=8, ndim=2)
        boxes = viewer.add_shapes(name="boxes", shape_type="rectangle", edge_color="yellow",
                                  face_color="transparent", ndim=2)
        self.reset_choices()
        self.positive.value, self.negative.value, self.boxes.value = positive, negative, boxes
        positive.mode = "add"

    def prompter(self) -> Any:
        """The backend for the chosen image, made once per image, backend and model (the
        maps or the SAM embedding are then reused)."""
        layer = self.image.value
        key = (id(layer), self.backend.value, self.model.value, str(self.sam_checkpoint.value),
               self.sam_type.value)
        if key not in self._prompters:
            self._prompters = {key: logic.make_prompter(
                layer.data, self.backend.value, self.model.value,
                self.sam_checkpoint.value if str(self.sam_checkpoint.value) not in ("", ".")
                else None, self.sam_type.value, rgb=layer.rgb)}
        return self._prompters[key]

    def run(self) -> str:
        layer = self.image.value
        if layer is None:
            return "add an image layer first"
        positive = self.positive.value.data if self.positive.value is not None else None
        negative = self.negative.value.data if self.negative.value is not None else None
        boxes = logic.boxes_from_shapes(self.boxes.value.data) if self.boxes.value is not None \
            else []
        if (positive is None or not len(positive)) and not boxes:
            return "add positive points or boxes first"
        target = self.target.value
        shape = layer.data.shape[:2] if layer.rgb else layer.data.shape
        labels = target.data if target is not None else np.zeros(shape, np.uint16)
        labels, added = logic.commit_prompts(self.prompter(), labels, positive, negative, boxes)
        if target is None:
            target = self.viewer.add_labels(labels, name=f"{layer.name}"
                                                         f"{logic.ANNOTATIONS_SUFFIX}",
                                            scale=layer.scale[-2:])
            self.reset_choices()
            self.target.value = target
        else:
            target.data = labels
        return f"added {len(added)} object(s) to {target.name}"


class FinetuneWidget(_ViewerWidget):
    """Fine-tune a model on labels layers and their images (each labels layer is paired with
    the image layer its name starts with), as ``microseg finetune`` does."""

    def __init__(self, napari_viewer: "napari.Viewer"):
        self.label_layers = Select(label="labels layers",
                                   choices=_layer_choices(napari_viewer, Labels))
        self.init = LineEdit(label="start from", value="default")
        self.minutes = FloatSpinBox(label="minutes", value=20.0, min=0.0, max=10000.0)
        self.iterations = SpinBox(label="iterations", value=0, min=0, max=10**7,
                                  tooltip="0: as many as the minutes allow")
        self.model_name = LineEdit(label="new model name", value="my-model")
        self.folder = FileEdit(label="work folder", mode="d",
                               value=str(Path("~/.microseg/finetune").expanduser()))
        self.crop = SpinBox(label="crop (px)", value=256, min=16, max=4096)
        super().__init__(napari_viewer, [self.label_layers, self.init, self.minutes,
                                         self.iterations, self.model_name, self.folder,
                                         self.crop], "Fine-tune")

    def run(self) -> str | Job:
        # torch imports triton (when installed) with its first optimiser; triton's own LLVM
        # crashes a process in which Mesa's software OpenGL (llvmpipe, napari's canvas on
        # machines without a GPU driver) has loaded another LLVM. Training here runs on the
        # CPU, which needs no triton: keep torch from importing it (unless it already has).
        sys.modules.setdefault("triton", None)  # type: ignore[arg-type]
        chosen = list(self.label_layers.value)
        if not chosen:
            return "choose labels layers (each named after its image layer) first"
        images = [layer.name for layer in self.viewer.layers if isinstance(layer, Image)]
        pairs = logic.pair_layers(images, [layer.name for layer in chosen])
        data = [(label_name, np.asarray(self.viewer.layers[image].data),
                 np.asarray(self.viewer.layers[label_name].data)) for image, label_name in pairs]
        folder, name = Path(self.folder.value) / self.model_name.value, self.model_name.value
        options = dict(init=self.init.value, minutes=self.minutes.value or None,
                       iterations=self.iterations.value or None, name=name,
                       crop=self.crop.value, progress=False,
                       on_step=self._training_progress(self.iterations.value,
                                                       self.minutes.value))

        def work() -> Any:
            return logic.finetune_layers(data, folder, **options)

        return Job(work, self._announce, f"fine-tuning {self.init.value} on {len(data)} "
                                         f"image(s) into model {name!r}…")

    def _training_progress(self, iterations: int, minutes: float) -> Callable[[int], None]:
        """The training's ``on_step`` (called in the worker thread): the progress bar at the
        iteration (of ``iterations``) or at the minute (of ``minutes``) reached."""
        from superqt.utils import ensure_main_thread

        started = time.monotonic()

        @ensure_main_thread
        def step(iteration: int) -> None:
            if iterations:
                self.show_progress(iteration, iterations, "training: iteration %v / %m"
                                   if iteration < iterations else "trained; scoring the model")
            else:
                seconds = int(time.monotonic() - started)
                self.show_progress(seconds, max(int(60 * minutes), 1),
                                   f"training: iteration {iteration}, %v of %m s")

        return step

    @staticmethod
    def _announce(result: Any) -> str:
        return (f"model {result.name!r} ({result.model}): F1@0.5 on {len(result.splits['test'])}"
                f" held-out image(s) {result.before['f1']:.3f} before, {result.after['f1']:.3f} "
                f"after; {result.iterations} iterations in {result.seconds / 60:.1f} min")
