"""A microseg model as a bioimage.io model package (format 0.5), for bioimage.io tools
(bioimageio.core, ilastik, deepImageJ) — ``microseg export MODEL --bioimageio OUT.zip``.

>>> write_bioimageio("default", "default.bioimageio.zip")             # doctest: +SKIP

The zip holds ``rdf.yaml`` and the files it names:

- weights in three formats computing the same maps: ``pytorch_state_dict`` (``weights.pt``,
  rebuilt by ``microseg_network.py``, a copy of
  :mod:`microseg.infer.bioimageio_architecture`, which needs microseg installed),
  ``torchscript`` and ``onnx`` (self-contained). Their input is the *normalised* image; the
  ``rdf.yaml`` names the normalisation as preprocessing the bioimage.io tools run:
  ``scale_range`` (the model's percentiles per image, over all channels together or per
  channel; ``min``/``max`` for min/max and sequence normalisation) then ``clip`` to the bounds
  microseg clips outliers to. What the specification cannot express stays with microseg and is
  stated in the documentation and ``config.microseg``: the inversion of bright-background images
  (models with ``dark_background``), hot-pixel and non-finite pixel replacement, resampling to
  the model's scale, and the instance post-processing (the specification has none for these
  maps: ``config.microseg.post`` names microseg's method and parameters);
- ``test_input.npy`` / ``test_output.npy``: a synthetic image and the maps microseg computes
  for it (``bioimageio.core.test_model`` reproduces them from the input);
- ``cover.png``: that image beside its segmentation by microseg (:func:`microseg.segment`);
- ``README.md``: the model card as documentation; authors, licence and citations from the card.

The package is built in a temporary folder and written atomically.
"""
from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from microseg.errors import ConfigError, InputError
from microseg.io.atomic import atomic_path

if TYPE_CHECKING:
    from microseg.infer.predictor import Predictor
    from microseg.zoo.card import ModelCard

#: Output channel names of the known training targets (others: ``<head>0``, ``<head>1``, …).
CHANNEL_NAMES = {"three_class": ["background", "boundary", "cell"],
                 "boundary": ["boundary"]}
#: Spatial size of the synthetic test image: per axis for 2D models, (Z, Y, X) for 3D ones.
TEST_SHAPE = {2: (256, 256), 3: (32, 128, 128)}
ARCHITECTURE_FILE = "microseg_network.py"
#: What each normalisation method becomes in a package (README), ``{0}`` / ``{1}`` the
#: percentiles.
NORMALIZATION_TEXT = {
    "percentile": "the {0:g} and {1:g} percentiles of each image mapped to 0 and 1 "
                  "(`scale_range`), then values clipped to the outlier bounds microseg uses "
                  "(`clip`)",
    "minmax": "the minimum and maximum of each image mapped to 0 and 1 (`scale_range`)",
    "sequence": "the minimum and maximum of each image mapped to 0 and 1 (`scale_range`); "
                "microseg maps those of a whole sequence or stack when it has them",
    "none": "none (the network takes the intensities as they are)"}
#: Checkpoint meta left out of ``config.microseg.meta`` (long records inference never reads).
UNPACKED_META = ("post_tuning", "training")
ARCHITECTURE_CALLABLE = "microseg_network"


def write_bioimageio(model: Any, out: str | Path, *, card: "ModelCard | str | Path | None" = None,
                     seed: int = 0) -> Path:
    """Write ``model`` (a bundled model's name or a checkpoint path) as a bioimage.io package
    (zip) to ``out``. ``card``: the model card (a :class:`~microseg.zoo.card.ModelCard` or its
    YAML file); default the bundled card of a bundled model, required for a checkpoint. A
    card that misstates the checkpoint raises :class:`ConfigError` listing the differences.
    ``seed``: of the synthetic test image. Returns ``out``."""
    from microseg import zoo
    from microseg.pipelines.model import load_model

    predictor = load_model(model, device="cpu")
    card = _card(model, card)
    differences = card.differences(predictor.meta, [h for h, _ in predictor.heads])
    if differences:
        raise ConfigError(f"the card {card.name!r} does not describe this model: "
                          + "; ".join(differences))
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise InputError(out, "a bioimage.io package is a .zip file")
    edge_classifier = zoo.edge_classifier_path(model) if zoo.is_model_name(model) else None
    with tempfile.TemporaryDirectory(prefix="microseg-bioimageio-") as folder:
        root = Path(folder)
        descr = _describe(predictor, card, root, seed, edge_classifier)
        _save_package(descr, out)
    return out


def _card(model: Any, card: "ModelCard | str | Path | None") -> "ModelCard":
    from microseg import zoo
    from microseg.zoo.card import ModelCard, read_card

    if isinstance(card, ModelCard):
        return card
    if card is not None:
        return read_card(card)
    if zoo.is_model_name(model):
        return zoo.card(model)
    raise ConfigError(f"{model}: a bioimage.io package needs a model card (authors, licence, "
                      f"citations, documentation); give one (card=… / --card CARD.yaml, see "
                      f"src/microseg/zoo/cards/default.yaml)")


def synthetic_input(predictor: "Predictor", pipeline: str, seed: int = 0) -> np.ndarray:
    """A synthetic image for ``predictor``'s model: EM sections for the EM pipelines, else
    fluorescent nuclei; ``(Y, X)`` or ``(Z, Y, X)`` (:data:`TEST_SHAPE`), float32, with the
    model's channels first when it takes more than one."""
    from microseg.data import synthetic
    from microseg.infer.inputs import channels_first

    shape = TEST_SHAPE[predictor.dims]
    if pipeline != "cells":
        image = synthetic.generate("em", seed=seed, shape=shape).image
    else:
        image = synthetic.generate("nuclei2d" if predictor.dims == 2 else "nuclei3d",
                                   seed=seed, shape=shape).image
    image = np.asarray(image, dtype=np.float32)
    return image if predictor.in_channels == 1 \
        else channels_first(image, predictor.in_channels).astype(np.float32)


def _describe(predictor: "Predictor", card: "ModelCard", root: Path, seed: int,
              edge_classifier: Path | None) -> Any:
    """Write the package's files into ``root`` and return their ``ModelDescr``."""
    import tifffile
    from bioimageio.spec.model import v0_5

    image = synthetic_input(predictor, card.pipeline, seed)
    batch = image[None, None] if predictor.in_channels == 1 else image[None]
    expected = _expected_maps(predictor, batch[0])
    np.save(root / "test_input.npy", batch)
    np.save(root / "test_output.npy", expected[None])
    tifffile.imwrite(root / "sample_input.tif", batch)
    tifffile.imwrite(root / "sample_output.tif", expected[None])
    _write_weights(predictor, root, batch.shape)
    _write_cover(predictor, card, image, root / "cover.png", edge_classifier)
    (root / "README.md").write_text(documentation(predictor, card), encoding="utf-8")
    spatial = ["z", "y", "x"][-predictor.dims:]
    step = predictor.divisor
    channel_names = ["grey"] if predictor.in_channels == 1 \
        else [f"channel{i}" for i in range(predictor.in_channels)]
    input_axes = [v0_5.BatchAxis(), v0_5.ChannelAxis(channel_names=channel_names)] + [
        v0_5.SpaceInputAxis(id=v0_5.AxisId(a), size=v0_5.ParameterizedSize(min=step, step=step))
        for a in spatial]
    output_axes = [v0_5.BatchAxis(), v0_5.ChannelAxis(channel_names=output_channels(predictor))] + [
        v0_5.SpaceOutputAxis(id=v0_5.AxisId(a), size=v0_5.SizeReference(
            tensor_id=v0_5.TensorId("raw"), axis_id=v0_5.AxisId(a)))
        for a in spatial]
    bounded = all(a in ("sigmoid", "softmax") for a in predictor.activations.values())
    return v0_5.ModelDescr(
        name=f"microseg {card.name}",
        description=card.summary,
        authors=[v0_5.Author(name=name) for name in card.authors],
        cite=_citations(card),
        license=card.spdx_licence,
        documentation=v0_5.FileDescr(source=root / "README.md"),
        covers=[v0_5.FileDescr(source=root / "cover.png")],
        tags=_tags(predictor, card),
        version=_version(),
        inputs=[v0_5.InputTensorDescr(
            id=v0_5.TensorId("raw"),
            description="raw image (any intensity range), the model's channels",
            axes=input_axes, test_tensor=v0_5.FileDescr(source=root / "test_input.npy"),
            sample_tensor=v0_5.FileDescr(source=root / "sample_input.tif"),
            data=v0_5.IntervalOrRatioDataDescr(type="float32"),
            preprocessing=preprocessing(predictor))],
        outputs=[v0_5.OutputTensorDescr(
            id=v0_5.TensorId("maps"),
            description="per-pixel maps, activated (" + ", ".join(
                sorted(set(predictor.activations.values()))) + ")",
            axes=output_axes, test_tensor=v0_5.FileDescr(source=root / "test_output.npy"),
            sample_tensor=v0_5.FileDescr(source=root / "sample_output.tif"),
            data=v0_5.IntervalOrRatioDataDescr(type="float32",
                                               range=(0.0, 1.0) if bounded else (None, None)))],
        weights=_weights_descr(predictor, root),
        config={"microseg": microseg_config(predictor, card)},
    )


def _expected_maps(predictor: "Predictor", image: np.ndarray) -> np.ndarray:
    """The maps ``(ΣK, *spatial)`` microseg computes for ``image`` ``(C, *spatial)`` at the
    model's scale: its normalisation (without the bright-background inversion, which the
    package cannot express), then the network."""
    normalization = predictor.normalization
    x = normalization(image)
    if normalization.dark_background:
        from microseg.preprocess.normalize import has_bright_background

        if has_bright_background(x):
            raise ConfigError("the synthetic test image has a bright background; the package "
                              "cannot express the inversion microseg applies to it")
    return predictor.predict_array(x, tta="none")


def preprocessing(predictor: "Predictor") -> list[Any]:
    """The bioimage.io preprocessing steps that reproduce ``predictor``'s normalisation of one
    image: ``scale_range`` over ``(channel, *spatial)`` (per channel: the spatial axes) and, for
    percentile normalisation, ``clip`` to the outlier bounds."""
    from bioimageio.spec.model import v0_5

    from microseg.preprocess.normalize import OUTLIER_SPANS

    norm = predictor.normalization
    spatial = ["z", "y", "x"][-predictor.dims:]
    axes = [v0_5.AxisId(a) for a in (spatial if norm.per_channel else ["channel", *spatial])]
    if norm.method == "none":
        return []
    low, high = norm.percentiles if norm.method == "percentile" else (0.0, 100.0)
    steps: list[Any] = [v0_5.ScaleRangeDescr(kwargs=v0_5.ScaleRangeKwargs(
        axes=axes, min_percentile=float(low), max_percentile=float(high)))]
    if norm.method == "percentile":
        steps.append(v0_5.ClipDescr(kwargs=v0_5.ClipKwargs(min=-OUTLIER_SPANS,
                                                           max=1.0 + OUTLIER_SPANS)))
    return steps


def output_channels(predictor: "Predictor") -> list[str]:
    """Names of the output channels, heads concatenated (:data:`CHANNEL_NAMES`)."""
    target = predictor.meta.target or {}
    names: list[str] = []
    for head, k in predictor.heads:
        spec = target.get("heads", {}).get(head, {}) if head is not None else target
        known = CHANNEL_NAMES.get(spec.get("name", ""), [])
        prefix = "" if head is None else f"{head}_"
        names += [prefix + n for n in known] if len(known) == k \
            else [f"{head or 'map'}{i}" for i in range(k)]
    return names


def _write_weights(predictor: "Predictor", root: Path, shape: tuple[int, ...]) -> None:
    """``weights.pt`` (state dict), ``weights.torchscript.pt``, ``weights.onnx`` and the
    architecture file into ``root``; the traced formats at ``shape``."""
    import torch

    from microseg.infer import bioimageio_architecture
    from microseg.infer.onnx import onnx_model_bytes
    from microseg.infer.torchscript import torchscript_bytes

    network, layout = predictor.exported_network(), predictor.network_layout()
    torch.save(network.state_dict(), root / "weights.pt")
    shutil.copyfile(bioimageio_architecture.__file__, root / ARCHITECTURE_FILE)
    (root / "weights.torchscript.pt").write_bytes(torchscript_bytes(network, layout, shape))
    (root / "weights.onnx").write_bytes(onnx_model_bytes(network, layout, shape))


def _weights_descr(predictor: "Predictor", root: Path) -> Any:
    import torch
    from bioimageio.spec.model import v0_5

    from microseg.infer.onnx import OPSET

    layout = predictor.network_layout()
    kwargs = {"arch": predictor.meta.arch, "config": dict(predictor.meta.config),
              "heads": [[name, k] for name, k in layout.heads],
              "activations": list(layout.activations)}
    version = v0_5.Version(torch.__version__.split("+")[0])
    return v0_5.WeightsDescr(
        pytorch_state_dict=v0_5.PytorchStateDictWeightsDescr(
            source=root / "weights.pt", pytorch_version=version,
            architecture=v0_5.ArchitectureFromFileDescr(
                source=root / ARCHITECTURE_FILE, callable=ARCHITECTURE_CALLABLE,
                kwargs=kwargs)),
        torchscript=v0_5.TorchscriptWeightsDescr(
            source=root / "weights.torchscript.pt", pytorch_version=version,
            parent="pytorch_state_dict"),
        onnx=v0_5.OnnxWeightsDescr(source=root / "weights.onnx", opset_version=OPSET,
                                   parent="pytorch_state_dict"))


def _write_cover(predictor: "Predictor", card: "ModelCard", image: np.ndarray, path: Path,
                 edge_classifier: Path | None) -> None:
    """The test image and its segmentation by microseg side by side (2:1), as PNG."""
    from microseg.io.images import write_image
    from microseg.io.overlay import render_overlay
    from microseg.pipelines.cells import segment

    channel_axis = None if predictor.in_channels == 1 else 0
    labels = segment(image, predictor, pipeline=card.pipeline, channel_axis=channel_axis,
                     edge_classifier=edge_classifier)
    shown = image if channel_axis is None else image.mean(axis=0)   # channels shown as grey
    empty = np.zeros_like(labels)
    write_image(path, np.concatenate([render_overlay(shown, empty),
                                      render_overlay(shown, labels)], axis=1))


def _citations(card: "ModelCard") -> list[Any]:
    """One entry per DOI of the training data's papers (each once), with its citation text."""
    from bioimageio.spec.generic.v0_3 import CiteEntry

    texts = {doi: source.citation for source in card.training.data for doi in source.doi}
    return [CiteEntry(text=text, doi=doi) for doi, text in texts.items()]


def _tags(predictor: "Predictor", card: "ModelCard") -> list[str]:
    tags = ["microseg", f"{predictor.dims}d", card.architecture.name, "pytorch", "onnx",
            "torchscript", "instance-segmentation"]
    tags += [m.lower().replace(" ", "-") for m in card.input.modalities]
    return list(dict.fromkeys(tags))


def _version() -> str:
    from microseg.version import __version__

    return __version__


def microseg_config(predictor: "Predictor", card: "ModelCard") -> dict[str, Any]:
    """``config.microseg`` of the package: what microseg runs around the weights (plain data)."""
    from microseg.infer.standalone import EXCLUDED
    from microseg.models.checkpoint import plain_data
    from microseg.post.registry import default_post

    heads = [h for h, _ in predictor.heads]
    meta = predictor.meta
    config: dict[str, Any] = {
        "microseg_version": _version(), "model": card.name, "pipeline": card.pipeline,
        "normalization": plain_data(predictor.normalization),
        "not_in_the_weights_or_preprocessing": EXCLUDED,
        "object_diameter_px": meta.object_diameter,
        "object_diameter_range_px": plain_data(meta.object_diameter_range),
        "pixel_size": meta.pixel_size, "scale": meta.scale,
        "meta": {k: v for k, v in plain_data(dict(meta)).items() if k not in UNPACKED_META},
    }
    if card.pipeline == "cells":
        name, params = default_post(meta, heads)
        _, bright = default_post(meta, heads, bright_background=True)
        config["post"] = {"name": name, "params": plain_data(params),
                          "params_on_inverted_bright_background": plain_data(bright)}
    return config


def documentation(predictor: "Predictor", card: "ModelCard") -> str:
    """The package's README (markdown): the card, what the weights compute, what a user of
    another tool must do around them, and how to get instances."""
    from microseg.infer.standalone import EXCLUDED
    from microseg.post.registry import default_post

    norm = predictor.normalization
    heads = [h for h, _ in predictor.heads]
    lines = [f"# microseg {card.name}", "", card.summary, "",
             "## What the weights compute", "",
             f"Architecture `{card.architecture.name}` ({card.parameters:,} parameters), "
             f"{predictor.dims}D, {predictor.in_channels} input channel(s). Input `raw`: the "
             f"image, sizes multiples of {predictor.divisor}. Output `maps`: channels "
             f"{', '.join(output_channels(predictor))}, activated "
             f"({', '.join(sorted(set(predictor.activations.values())))}).", "",
             f"Preprocessing (in `rdf.yaml`): normalisation `{norm.method}`: "
             + NORMALIZATION_TEXT[norm.method].format(*norm.percentiles)
             + (", each channel on its own" if norm.per_channel else "") + ".", ""]
    if norm.dark_background:
        lines += ["**Bright-background images** (bright-field, H&E): microseg inverts the "
                  "normalised image (1 − x) when its median lies above 0.5; bioimage.io "
                  "preprocessing cannot express this, so invert such images before giving them "
                  "to the model (or run it with microseg).", ""]
    scale = []
    if predictor.meta.object_diameter:
        scale.append(f"objects about {predictor.meta.object_diameter:.1f} px in diameter")
    if predictor.meta.pixel_size:
        scale.append(f"pixel size {predictor.meta.pixel_size:g}")
    if scale:
        lines += [f"**Scale**: trained at {' and '.join(scale)}; resample images so that "
                  f"their objects have about that size (microseg does it with `--diameter`).", ""]
    lines += [f"Left to microseg: {EXCLUDED}.", "", "## Instances", ""]
    if card.pipeline == "cells":
        name, params = default_post(predictor.meta, heads)
        lines += ["The bioimage.io specification has no post-processing that turns these maps "
                  f"into cells; microseg runs `{name}` with `{params}` (`config.microseg.post`):",
                  "", "```python", "from microseg.post.registry import postprocess",
                  f"labels = postprocess({name!r}, maps[0], **{params!r})",
                  "```", "", "or the whole pipeline, which reads this package: `microseg segment "
                  "IMAGE --model PACKAGE.zip`.", ""]
    else:
        lines += [f"Instances come from microseg's `{card.pipeline}` pipeline (superpixels, "
                  "region graph, multicut) on the boundary map: `microseg segment IMAGE "
                  f"--model PACKAGE.zip --pipeline {card.pipeline}` (the edge classifier of "
                  "the bundled model is not in the package).", ""]
    lines += ["## Training data", ""]
    lines += [f"- **{d.name}**: {d.description}. {d.citation}. Licence: {d.licence}."
              for d in card.training.data]
    lines += ["", f"Training: {card.training.config}", "", "```"]
    lines += card.training.commands + ["```", "", "## Validation", ""]
    if card.validation:
        lines += ["| data set | split | metric | value |", "|---|---|---|---|"]
        lines += [f"| {v.dataset} | {v.split} | {v.metric} | {v.value:.4g} |"
                  for v in card.validation]
    else:
        lines.append("No figures recorded.")
    if card.validation_command:
        lines += ["", f"Reproduced by `{card.validation_command}`."]
    lines += ["", "## Licence", "", card.licence, ""]
    return "\n".join(lines)


def _save_package(descr: Any, out: Path) -> None:
    """Validate ``descr`` and write it with its files as a zip to ``out``, atomically."""
    from bioimageio.spec import ValidationContext, save_bioimageio_package

    with atomic_path(out) as tmp, ValidationContext(perform_io_checks=True), \
            warnings.catch_warnings():
        # the library re-reads its own file entries and warns about their sha256 keys
        warnings.simplefilter("ignore", UserWarning)
        save_bioimageio_package(descr, output_path=tmp)
