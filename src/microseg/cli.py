"""The ``microseg`` command. Thin: every subcommand parses arguments and calls the Python API.

A subcommand is one function decorated with :func:`command`, which lists its arguments with
:func:`arg` (the same signature as ``argparse.ArgumentParser.add_argument``).
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import warnings
from typing import Any, Callable, Sequence

from microseg.errors import ConfigError, InputWarning, MicrosegError
from microseg.malloc import reexec_with_tuned_malloc
from microseg.pipelines.names import PIPELINES

Run = Callable[[argparse.Namespace], int]
Argument = tuple[tuple[Any, ...], dict[str, Any]]
_COMMANDS: dict[str, tuple[str, list[Argument], Run]] = {}


def arg(*flags: Any, **options: Any) -> Argument:
    """One argument of a subcommand, as passed to ``ArgumentParser.add_argument``."""
    return flags, options


def command(name: str, help: str, arguments: Sequence[Argument] = ()) -> Callable[[Run], Run]:
    """Register ``run(args) -> exit code`` as subcommand ``name``."""

    def decorator(run: Run) -> Run:
        _COMMANDS[name] = (help, list(arguments), run)
        return run

    return decorator


def build_parser() -> argparse.ArgumentParser:
    from microseg.version import __version__

    parser = argparse.ArgumentParser(
        prog="microseg",
        description="Segment, measure, evaluate and track cells in microscopy images.",
    )
    parser.add_argument("--version", action="version", version=f"microseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, arguments, _) in _COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        for flags, options in arguments:
            command_parser.add_argument(*flags, **options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``microseg`` console script; returns the exit code. Run as a
    process (``argv`` None), it first re-executes itself with glibc's allocator tuned for large
    tensors (:mod:`microseg.malloc`)."""
    if argv is None:
        reexec_with_tuned_malloc([sys.executable, "-m", "microseg", *sys.argv[1:]])
    import shlex

    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["microseg", *(sys.argv[1:] if argv is None else argv)])
    _, _, run = _COMMANDS[args.command]
    _print_undecodable_names()
    with warnings.catch_warnings():
        warnings.simplefilter("always", InputWarning)
        warnings.showwarning = _warning_printer(args.command, warnings.showwarning)
        try:
            return int(run(args) or 0)
        except MicrosegError as exc:
            print(f"microseg {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"microseg {args.command}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:   # the reader of our output stopped early (e.g. `| head -1`)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
            return 141            # 128 + SIGPIPE, as a shell reports it


def _print_undecodable_names() -> None:
    """Let stdout print file names that are not valid in the locale's encoding (they reach
    Python as surrogates) as their original bytes, as ``ls`` does, instead of failing."""
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="surrogateescape")


def _warning_printer(command: str, default: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints each :class:`InputWarning` as one line
    ``microseg COMMAND: warning: …`` on stderr (above any progress bar) and hands other
    warnings to ``default``."""

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if not issubclass(category, InputWarning):
            default(message, category, filename, lineno, file, line)
            return
        from tqdm import tqdm

        tqdm.write(f"microseg {command}: warning: {message}", file=sys.stderr)

    return show


# --- arguments shared by the commands that run a network ----------------------------------------
MODEL_ARG = arg("--model", default="default",
                help="checkpoint (.pt), exported .onnx or bundled model name (default: "
                     "'default'; see `microseg models list`)")
TTA_ARG = arg("--tta", choices=["none", "mean", "max"], default="none",
              help="8-fold dihedral test-time augmentation (default none)")
TILE_ARG = arg("--tile", type=int, metavar="N",
               help="largest tile in pixels (default 2048: 2D images up to 4 MP in one "
                    "piece; 128 for 3D models)")
POST_ARG = arg("--post", help="post-processing: three_class, components, mesmer_watershed, "
                              "distance_watershed, center_watershed (default: the model's)")


def diameter_arg(text: str) -> float | str:
    """``--diameter``: pixels, ``auto`` (measured on a first pass) or ``model`` (never
    rescale)."""
    if text in ("auto", "model"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a diameter in pixels, 'auto' or 'model', "
                                         f"got {text!r}") from None


def size_arg(text: str) -> int:
    """``--memory-limit``: bytes, or a size such as ``8G`` (:func:`microseg.memory.parse_size`)."""
    from microseg.memory import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def selection_arg(name: str) -> Callable[[str], Any]:
    """An argument type read by function ``name`` of :mod:`microseg.io.select` (``parse_channels``
    for ``--channel``, ``parse_frames`` for ``--frames``), whose ValueError is the usage error."""

    def convert(text: str) -> Any:
        from microseg.io import select

        try:
            return getattr(select, name)(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


DIAMETER_ARG = arg("--diameter", type=diameter_arg, metavar="PX|auto|model",
                   help="typical object diameter in the images (pixels), rescaled to the "
                        "model's; 'auto': measured on a first pass at the model's scale; "
                        "'model': never rescale (default: the model's scale unless the first "
                        "pass finds objects outside the sizes it was trained on)")
Z_CONTEXT_ARG = arg("--z-context", choices=["pseudocolor", "none"],
                    help="2D model on stacks: Context Aware Pseudocoloring or plain slices "
                         "(default: the model's)")
BACKEND_ARG = arg("--backend", choices=["torch", "onnxruntime"], default="torch",
                  help="inference engine (default torch)")
THREADS_ARG = arg("--threads", type=int, help="CPU threads (default: all cores)")
DEVICE_ARG = arg("--device", default="auto", metavar="auto|cpu|cuda",
                 help="where the network runs: auto (a CUDA GPU when torch sees one, else the "
                      "CPU; default), cpu, cuda or cuda:N")
PRECISION_ARG = arg("--precision", choices=["float32", "bfloat16"], default="float32",
                    help="torch backend: bfloat16 runs the network about 2x faster on CPUs "
                         "with native bf16 (AVX512-BF16, AMX) at slightly different maps "
                         "(default float32)")


def _predictor_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Predictor options a command's arguments give (``tta``, ``threads``, and ``backend``,
    ``precision``, ``tile``, ``device`` when the command has them and they are set)."""
    options = {"tta": args.tta, "threads": args.threads}
    for name in ("backend", "precision", "tile", "device"):
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
    return options
QUIET_ARG = arg("--quiet", action="store_true", help="no progress bar")


# --- subcommands (one block per command, imports inside the function to keep start-up fast) ------


@command("convert", help="Convert CTC, COCO, ISBI or image/label folders to DST/images/*.tif + "
                         "DST/labels/*.tif (resumable).",
         arguments=[
             arg("src", help="source: CTC dataset or sequence folder, COCO JSON, ISBI folder "
                             "(images/ + labels/) or image stack, or a folder with images/ + "
                             "labels/"),
             arg("dst", help="output folder"),
             arg("--from", dest="source", required=True, choices=["ctc", "coco", "isbi", "folder"],
                 help="format of SRC"),
             arg("--ids", help="folder: id list file (one stem a line) choosing the images"),
             arg("--image-root",
                 help="coco: folder holding the images (default: the JSON's folder)"),
             arg("--labels", help="isbi: membrane label stack, when SRC is the image stack"),
             arg("--truth", choices=["gt", "silver"], help="ctc: NN_GT (default) or NN_ST"),
             arg("--overwrite", action="store_true", help="rewrite items already converted"),
         ])
def _run_convert(args: argparse.Namespace) -> int:
    from microseg.io.convert import convert

    options = {key: value for key, value in (("ids", args.ids), ("image_root", args.image_root),
                                             ("labels", args.labels), ("truth", args.truth))
               if value is not None}
    written = convert(args.src, args.dst, args.source, overwrite=args.overwrite, **options)
    print(f"converted {written} item(s) from {args.src} to {args.dst}")
    return 0


@command("synth", help="Write synthetic images with exact ground truth (nuclei2d, cells2d, "
                       "nuclei3d, em: DIR/images + DIR/labels; timelapse: CTC layout DIR/01, "
                       "DIR/01_GT).",
         arguments=[
             arg("kind", help="generator: nuclei2d, cells2d, nuclei3d, em or timelapse"),
             arg("--out", required=True, help="output folder"),
             arg("--n", type=int, default=1, help="samples (timelapse: sequences) to write"),
             arg("--seed", type=int, default=0, help="random seed (same seed, same data)"),
             arg("--size", type=int, nargs="+", metavar="PX",
                 help="image shape: Y X, or Z Y X for nuclei3d and em"),
             arg("--frames", type=int, help="timelapse: number of frames"),
             arg("--sparse", type=float,
                 help="timelapse: fraction of cells left out of each SEG frame"),
             arg("--set", action="append", default=[], metavar="KEY=VALUE",
                 help="any other generator parameter, e.g. --set diameter=20 (repeatable)"),
             arg("--perturbed-result", action="store_true",
                 help="also write a deliberately wrong copy of the ground truth: DIR/perturbed/ "
                      "or, for timelapse, a CTC result DIR/NN_RES/"),
         ])
def _run_synth(args: argparse.Namespace) -> int:
    from microseg.config import parse_assignment
    from microseg.data.synthetic import write_synthetic

    params = dict(parse_assignment(item) for item in args.set)
    for key, value in (("shape", args.size), ("n_frames", args.frames), ("sparse", args.sparse)):
        if value is not None:
            params[key] = value
    out = write_synthetic(args.kind, args.out, n=args.n, seed=args.seed,
                          perturbed=args.perturbed_result, progress=True, **params)
    print(f"wrote {args.n} synthetic {args.kind} sample(s) to {out}")
    return 0


@command("evaluate", help="Score predicted label images against ground truth: two files, two "
                          "folders matched by file stem, or a CTC NN_RES folder against NN_GT.",
         arguments=[
             arg("pred", help="predicted labels: file, folder, or CTC result folder (maskTTT.tif)"),
             arg("gt", help="ground truth: file, folder, or CTC ground-truth folder (NN_GT)"),
             arg("--metrics", default="seg,f1,ap,iou",
                 help="comma-separated: seg, f1, ap, iou, errors, vrand, det, tra "
                      "(det/tra: CTC folders only; default: seg,f1,ap,iou)"),
             arg("--iou", type=float, default=0.5,
                 help="IoU threshold of the f1 matching (default 0.5)"),
             arg("--json", metavar="FILE", help="write every score as JSON"),
             arg("--csv", metavar="FILE", help="write the per-image table and overall row as CSV"),
         ])
def _run_evaluate(args: argparse.Namespace) -> int:
    from microseg.metrics.evaluate import evaluate_paths

    report = evaluate_paths(args.pred, args.gt, args.metrics, iou=args.iou, progress=True)
    print(report.table())
    if args.json:
        print(f"wrote {report.write_json(args.json)}")
    if args.csv:
        print(f"wrote {report.write_csv(args.csv)}")
    return 0


@command("train", help="Train a network from one YAML configuration (see configs/); writes "
                       "log.csv, best.pt and last.pt to the output folder.",
         arguments=[
             arg("config", help="training configuration (YAML), e.g. configs/dsb2018_unet.yaml"),
             arg("--resume", metavar="CKPT", help="continue from a run's last.pt"),
             arg("--out", metavar="DIR", help="output folder (default: the config's output)"),
             arg("--minutes", type=float, help="stop after this many minutes (resumable)"),
             arg("--stop-at", type=int, metavar="N",
                 help="stop after iteration N of the schedule (resumable), e.g. to compare "
                      "variants at equal training"),
             arg("--set", action="append", default=[], metavar="KEY=VALUE",
                 help="override a configuration value, e.g. --set "
                      "model.params.base_channels=32 (repeatable)"),
             arg("--threads", type=int, help="torch threads (default: the config's, else all "
                                             "cores)"),
             arg("--device", metavar="auto|cpu|cuda",
                 help="where the network trains: auto (a CUDA GPU when torch sees one, else "
                      "the CPU), cpu, cuda or cuda:N (default: the config's, auto)"),
             QUIET_ARG,
         ])
def _run_train(args: argparse.Namespace) -> int:
    import dataclasses

    from microseg.train import train

    config = _train_config(args)
    if args.threads is not None:
        config = dataclasses.replace(config, threads=args.threads)
    if args.device is not None:
        config = dataclasses.replace(config, device=args.device)
    result = train(config, resume=args.resume, out=args.out, progress=not args.quiet,
                   stop_at=args.stop_at,
                   time_limit=None if args.minutes is None else 60.0 * args.minutes)
    best = "none" if result.best_score is None else f"{result.best_score:.4f}"
    print(f"{result.stopped} at iteration {result.iteration}/{result.total}; best "
          f"{config.validation.metric} {best}; checkpoints in {result.output}")
    return 0


def _train_config(args: argparse.Namespace) -> Any:
    """The :class:`~microseg.train.TrainConfig` of ``args.config`` with ``args.set`` applied."""
    from microseg.config import load_yaml, with_overrides
    from microseg.train import train_config

    return train_config(with_overrides(load_yaml(args.config), args.set) if args.set
                        else args.config)


@command("finetune", help="Fine-tune a model on your own annotated images: split by group "
                          "(file-name fields or each image alone) into train / validation / "
                          "test, train with resume, tune the post-processing, print F1 before "
                          "and after on the held-out test images, and save the result as a "
                          "named model (`--model NAME` finds it).",
         arguments=[
             arg("images", help="folder of images"),
             arg("labels", help="folder of label images named like the images (same stems)"),
             arg("--init", default="default",
                 help="model to start from: a model name or a checkpoint (default 'default')"),
             arg("--minutes", type=float, default=20.0,
                 help="training time in minutes (default 20; a rerun resumes the run)"),
             arg("--iterations", type=int, metavar="N",
                 help="optimiser steps (default: as many as --minutes allow)"),
             arg("--name", help="name of the new model (default: INIT-<images folder name>)"),
             arg("--out", metavar="DIR",
                 help="run folder: configuration, splits, log, checkpoints (default "
                      "runs/finetune-NAME)"),
             arg("--pattern", metavar="REGEX",
                 help="file-name metadata: a regular expression with named groups, e.g. "
                      "'day(?P<day>\\d+)t(?P<t>\\d+)c(?P<c>\\d+)xy(?P<xy>\\d+)z(?P<z>\\d+)'"),
             arg("--group-by", nargs="+", metavar="FIELD",
                 help="the pattern's fields whose images stay in one split, e.g. xy "
                      "(default: each image alone)"),
             arg("--test-groups", nargs="+", metavar="GROUP",
                 help="groups held out for the test figures, e.g. xy10 (or image stems)"),
             arg("--batch-size", type=int, default=8, help="training batch (default 8)"),
             arg("--crop", type=int, default=256, help="training crop in pixels (default 256)"),
             arg("--validate-every", type=int, default=100, metavar="N",
                 help="iterations between validations (default 100)"),
             arg("--seed", type=int, default=0, help="split and training seed (default 0)"),
             arg("--threads", type=int, help="torch threads (default: all cores)"),
             QUIET_ARG,
         ])
def _run_finetune(args: argparse.Namespace) -> int:
    from microseg.pipelines.finetune import finetune

    result = finetune(args.images, args.labels, init=args.init, minutes=args.minutes,
                      iterations=args.iterations, name=args.name, out=args.out,
                      pattern=args.pattern, group_by=args.group_by,
                      test_groups=args.test_groups, seed=args.seed, batch_size=args.batch_size,
                      crop=args.crop, validate_every=args.validate_every, threads=args.threads,
                      command=args.command_line, progress=not args.quiet)
    sizes = ", ".join(f"{len(stems)} {split}" for split, stems in result.splits.items())
    print(f"images: {sizes}; trained {result.iterations} iterations ({result.stopped}); "
          f"post-processing {result.post}")
    print(f"held-out test images ({len(result.splits['test'])}): F1@0.5 {result.before['f1']:.4f}"
          f" with {args.init} → {result.after['f1']:.4f} fine-tuned (SEG "
          f"{result.before['seg']:.4f} → {result.after['seg']:.4f}); "
          f"{result.seconds / 60:.1f} min")
    print(f"model {result.name!r} written to {result.model} (use --model {result.name}); run "
          f"in {result.run}")
    return 0


@command("tune", help="Tune a trained checkpoint's post-processing again on a configuration's "
                      "validation data (its validation.tune / tune_bright_background grids), "
                      "without training; prints the grid and writes the checkpoint with the "
                      "best choice.",
         arguments=[
             arg("config", help="training configuration (YAML) naming the validation data"),
             arg("checkpoint", help="checkpoint to tune (.pt)"),
             arg("--out", metavar="FILE",
                 help="write the tuned checkpoint here (default: over CHECKPOINT, atomically)"),
             arg("--set", action="append", default=[], metavar="KEY=VALUE",
                 help="override a configuration value, e.g. --set validation.tune=null "
                      "(repeatable)"),
             arg("--threads", type=int, help="torch threads (default: all cores)"),
             arg("--device", metavar="auto|cpu|cuda",
                 help="where the network runs (default: the config's, auto)"),
         ])
def _run_tune(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from microseg.train.retune import tune_checkpoint

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    config = _train_config(args)
    if args.device is not None:
        config = dataclasses.replace(config, device=args.device)
    tuning, path = tune_checkpoint(config, args.checkpoint, out=args.out, progress=True)
    metric = config.validation.metric
    for row in tuning.table:
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in row.items()))
    post = tuning.post
    print(f"chosen: {post.name} {post.params} bright_background {post.bright_background}; "
          f"{metric} {tuning.metrics[metric]:.4f}; wrote {path}")
    return 0


@command("segment", help="Segment images into labelled cells: writes OUT/{stem}_labels.tif, "
                         "OUT/{stem}_overlay.png and OUT/{stem}.csv (measurements) per input, "
                         "or the outputs chosen with --save.",
         arguments=[
             arg("inputs", nargs="+", metavar="INPUT",
                 help="image files, folders of images, glob patterns or CTC sequence folders"),
             arg("--model", default="default",
                 help="checkpoint (.pt), exported .onnx, bundled model name (see `microseg "
                      "models list`) or 'auto': per image, 'cells' (whole cells) for "
                      "label-free phase contrast / DIC, else 'default' (nuclei); the choice is "
                      "printed (default: 'default')"),
             arg("--out", required=True, metavar="DIR", help="output folder"),
             TTA_ARG,
             TILE_ARG,
             POST_ARG,
             arg("--post-param", action="append", default=[], metavar="KEY=VALUE",
                 help="post-processing parameter overriding the model's, e.g. --post-param "
                      "min_size=20 --post-param seed_threshold=0.6 (repeatable)"),
             DIAMETER_ARG,
             Z_CONTEXT_ARG,
             arg("--instances3d", choices=["stitch", "stack"], default="stitch",
                 help="2D model on stacks: post-process each slice and link slices by IoU "
                      "(default), or post-process the stacked maps in 3D"),
             arg("--spacing", type=float, nargs="+", metavar="S",
                 help="pixel / voxel size in µm per axis (Y X or Z Y X), for anisotropic stacks "
                      "and measurements in µm (area_um2, …) (default: the file's, from OME, "
                      "ImageJ or OME-Zarr metadata)"),
             arg("--channel", type=selection_arg("parse_channels"), metavar="N[,M]",
                 help="channel(s) to segment, by index (from 0) or name, e.g. --channel DAPI, "
                      "or --channel 0,1 (nucleus, then cytoplasm) for a two-channel model "
                      "(default: every channel)"),
             arg("--frames", type=selection_arg("parse_frames"), metavar="N|A:B|N,M",
                 help="time points of time series to segment, each into its own outputs "
                      "{stem}_tNNN, e.g. 3, 0:10 (0 to 9) or 0,5,9 (default: all)"),
             arg("--scene", metavar="N|NAME",
                 help="scene (series) of files holding several: OME-TIFF, OME-Zarr, CZI, "
                      "LIF, ND2 (default: the first)"),
             arg("--save", metavar="KINDS",
                 help="comma-separated outputs per input: labels ({stem}_labels.tif), overlay "
                      "({stem}_overlay.png), csv ({stem}.csv), geojson ({stem}.geojson, for "
                      "QuPath), rois ({stem}_rois.zip, ImageJ / Fiji ROI Manager), zarr "
                      "({stem}.ome.zarr: the image with its labels, OME-NGFF 0.4) (default: "
                      "labels,overlay,csv)"),
             arg("--zarr-into-input", action="store_true",
                 help="OME-Zarr inputs: write the zarr output as labels/cells into the input "
                      "itself (its NGFF version, axes and levels) instead of OUT"),
             arg("--geojson-objects", choices=["detection", "annotation"], default="detection",
                 help="QuPath object type of the GeoJSON features (default detection)"),
             arg("--channel-axis", type=int, metavar="AXIS",
                 help="axis holding channels, for files that do not name their axes "
                      "(.npy, plain TIFF); by default images are grey or RGB"),
             BACKEND_ARG,
             PRECISION_ARG,
             THREADS_ARG,
             DEVICE_ARG,
             arg("--pipeline", choices=PIPELINES, default="cells",
                 help="cells: maps → post-processing (default); em-mc / em-lmc: grey EM images "
                      "or stacks (Z, Y, X) → the model's membrane map → superpixels → region "
                      "graph → multicut / lifted multicut"),
             arg("--edge-classifier", metavar="RF.npz",
                 help="em pipelines: edge random forests written by `microseg train-edges` "
                      "(default: a bundled model's own, else mean membrane probability of each "
                      "face)"),
             arg("--memory-limit", type=size_arg, metavar="SIZE",
                 help="segment block by block (as --blockwise) an image whose segmentation "
                      "would need more memory than this, e.g. 8G, and refuse (going on with "
                      "the others) one whose blocks would not fit either (default: the RAM "
                      "available when the image starts)"),
             arg("--blockwise", action="store_true",
                 help="read each image lazily and segment it block by block on Dask: writes "
                      "OUT/{stem}.ome.zarr (the image and its labels, OME-NGFF labels/cells) "
                      "and OUT/{stem}.csv; for images larger than memory"),
             arg("--block", type=int, metavar="PX",
                 help="--blockwise: core of a block along Y and X in pixels (default: one "
                      "network tile less the halos)"),
             arg("--halo", type=int, metavar="PX",
                 help="--blockwise: halo around each block along Y and X in pixels (default: "
                      "the network's receptive radius plus the largest trained object)"),
             arg("--workers", type=int, metavar="N",
                 help="--blockwise: Dask workers, one torch thread each (default: the "
                      "scheduler's)"),
             arg("--scheduler", default="threads", metavar="threads|processes|local|ADDRESS",
                 help="--blockwise: Dask scheduler: threads (default), processes, local (a "
                      "distributed LocalCluster of --workers processes) or the address of a "
                      "running cluster, e.g. tcp://host:8786 (OUT must be on storage its "
                      "workers share)"),
             arg("--overwrite", action="store_true",
                 help="redo every input (default: skip inputs whose outputs are complete, "
                      "finish those a killed run left incomplete)"),
             QUIET_ARG,
         ])
def _run_segment(args: argparse.Namespace) -> int:
    import shlex
    from pathlib import Path

    from microseg.config import parse_assignment
    from microseg.pipelines.files import BLOCKWISE_SAVE, Outputs, SegmentOptions, \
        segment_paths
    from microseg.report import REPORT_NAME

    post_params = dict(parse_assignment(item) for item in args.post_param) or None
    options = SegmentOptions(post=args.post, post_params=post_params, diameter=args.diameter,
                             z_context=args.z_context,
                             instances3d=args.instances3d, spacing=args.spacing,
                             channel_axis=args.channel_axis, pipeline=args.pipeline,
                             edge_classifier=args.edge_classifier, channels=args.channel,
                             frames=args.frames, scene=args.scene)
    predictor_options = _predictor_options(args)
    outputs = Outputs(zarr_into_input=args.zarr_into_input,
                      geojson_objects=args.geojson_objects,
                      **({} if args.save is None else {"save": tuple(
                          kind.strip() for kind in args.save.split(",") if kind.strip())}))
    blockwise = None
    if args.blockwise:
        from microseg.scale.cluster import check_scheduler
        from microseg.scale.segment import BlockwiseOptions

        blockwise = BlockwiseOptions(args.block, args.halo, check_scheduler(args.scheduler),
                                     args.workers)
    elif args.block or args.halo or args.workers or args.scheduler != "threads":
        raise ConfigError("--block, --halo, --workers and --scheduler go with --blockwise")
    if blockwise is not None and args.save is not None \
            and set(outputs.save) - set(BLOCKWISE_SAVE):
        raise ConfigError(f"--blockwise writes {' and '.join(BLOCKWISE_SAVE)} only (the other "
                          f"outputs need the whole image in memory); got --save {args.save}")
    run = segment_paths(args.inputs, args.out, args.model, options=options,
                        overwrite=args.overwrite, progress=not args.quiet,
                        memory_limit=args.memory_limit, outputs=outputs, blockwise=blockwise,
                        command=args.command_line, **predictor_options)
    if run.renamed:
        source, stem = next(iter(run.renamed.items()))
        print(f"microseg segment: note: {len(run.renamed)} input(s) share a file name with "
              f"another; their outputs are named after their folder or file type too, e.g. "
              f"{source} → {stem}_labels.tif", file=sys.stderr)
    for stem, count in run.objects.items():
        chosen = f" (model auto: {run.models[stem]})" if stem in run.models else ""
        print(f"{stem}: {count} objects, {run.seconds[stem]:.1f} s{chosen}")
    for _, message in run.skipped:
        print(f"skipped {message}")
    for _, message in run.failed:
        print(f"microseg segment: failed: {message}", file=sys.stderr)
    print(f"segmented {len(run.written)} image(s) into {args.out}; {len(run.skipped)} "
          f"skipped; {len(run.failed)} failed")
    print(f"report: {shlex.join(['microseg', 'report', str(args.out)])} (writes "
          f"{Path(args.out) / REPORT_NAME})")
    return 0 if run.ok else 1


@command("report", help="Write OUT/report.html, one self-contained page about a `microseg "
                        "segment` output folder: overlay thumbnails, objects per image, "
                        "histograms of area, intensity and shape, scores against ground truth "
                        "(--gt), the commands and the model card.",
         arguments=[
             arg("out", metavar="OUT", help="output folder of `microseg segment`"),
             arg("--gt", metavar="DIR",
                 help="folder of ground-truth label images named after the inputs' stems "
                      "(e.g. DIR/cell01.tif for cell01.png): adds F1, SEG, mAP and pixel IoU"),
             QUIET_ARG,
         ])
def _run_report(args: argparse.Namespace) -> int:
    from microseg.report import write_report

    print(f"wrote {write_report(args.out, args.gt, progress=not args.quiet)}")
    return 0


@command("track", help="Track segmented cells over time (links, divisions, optional gap "
                       "closing): writes RES_DIR/maskTTT.tif + res_track.txt (CTC) and "
                       "RES_DIR/tracks.csv.",
         arguments=[
             arg("labels", help="label images: a folder with one file per frame (e.g. CTC "
                                "maskTTT.tif) or a (T, Y, X) / (T, Z, Y, X) stack"),
             arg("--images", metavar="SEQ_DIR",
                 help="raw frames, same layout (e.g. a CTC sequence folder NN with tTTT.tif); "
                      "for intensity-weighted centroids and intensity features"),
             arg("--out", required=True, metavar="RES_DIR", help="result folder (CTC NN_RES)"),
             arg("--max-distance", type=float, metavar="PX",
                 help="largest centroid displacement between frames (default: 2 × the median "
                      "object diameter)"),
             arg("--spacing", type=float, nargs="+", metavar="S",
                 help="pixel / voxel size per axis (Y X or Z Y X); distances are then in its unit"),
             arg("--gap-closing", action="store_true",
                 help="bridge tracks over one missing frame"),
             arg("--no-divisions", action="store_true", help="do not detect divisions"),
             arg("--csv", metavar="FILE", help="table path (default RES_DIR/tracks.csv)"),
             arg("--overwrite", action="store_true",
                 help="replace a result already in RES_DIR (its masks all removed)"),
             QUIET_ARG,
         ])
def _run_track(args: argparse.Namespace) -> int:
    from microseg.track import TrackConfig, track_files

    config = TrackConfig(max_distance=args.max_distance, spacing=args.spacing,
                         gap_closing=args.gap_closing, divisions=not args.no_divisions)
    result = track_files(args.labels, args.images, args.out, config, csv=args.csv,
                         overwrite=args.overwrite, progress=not args.quiet)
    print(f"tracked {len(result.frames)} frames: {result.n_tracks} tracks, "
          f"{result.n_divisions} divisions, {result.n_gaps_closed} gaps closed; wrote {args.out}")
    return 0


@command("train-edges", help="Train the edge random forests of the EM pipelines (segment "
                             "--pipeline em-mc / em-lmc) on an EM stack with labels; writes "
                             "RF.npz.",
         arguments=[
             arg("images", help="EM stack: multi-page TIFF or folder of slices"),
             arg("labels", help="labels, same form: ISBI membrane labels (uint8, only 0 = "
                                "membrane and 255 = interior) or instance labels (any other "
                                "integer stack)"),
             arg("--model", required=True, help="boundary network: checkpoint (.pt), .onnx or "
                                                "bundled model name"),
             arg("--out", required=True, metavar="RF.npz", help="classifier file to write"),
             arg("--slices", metavar="A:B", help="train on sections A..B-1 only (default all)"),
             arg("--config", metavar="YAML", help="graph configuration (EMGraphConfig: "
                                                  "superpixels, graph, costs, forest, solver)"),
             arg("--lifted-distance", type=int, metavar="D",
                 help="lifted edges join regions 2..D graph steps apart (default: config's, 3)"),
             arg("--no-lifted", action="store_true",
                 help="train the local forest only (enough for em-mc, not for em-lmc)"),
             arg("--tta", choices=["none", "mean", "max"], default="none",
                 help="test-time augmentation of the boundary maps (default none)"),
             TILE_ARG,
             THREADS_ARG,
             DEVICE_ARG,
             arg("--overwrite", action="store_true", help="replace an existing classifier file"),
             QUIET_ARG,
         ])
def _run_train_edges(args: argparse.Namespace) -> int:
    from microseg.pipelines.em import graph_config, train_edges

    config = graph_config(args.config, args.lifted_distance)
    predictor_options = _predictor_options(args)
    classifier = train_edges(args.images, args.labels, args.model, args.out, config,
                             slices=args.slices, lifted=not args.no_lifted,
                             overwrite=args.overwrite, progress=not args.quiet,
                             **predictor_options)
    forests = "local and lifted" if classifier.lifted_forest is not None else "local"
    print(f"trained {forests} edge forests; wrote {args.out}")
    return 0


@command("ctc", help="Segment every frame of a Cell Tracking Challenge sequence and track the "
                     "cells: writes NN_RES/maskTTT.tif + res_track.txt and tracks.csv.",
         arguments=[
             arg("seq_dir", metavar="SEQ_DIR", help="CTC sequence folder NN with tTTT.tif frames"),
             MODEL_ARG,
             arg("--out", required=True, metavar="NN_RES", help="result folder"),
             TTA_ARG,
             TILE_ARG,
             POST_ARG,
             DIAMETER_ARG,
             Z_CONTEXT_ARG,
             arg("--spacing", type=float, nargs="+", metavar="S",
                 help="pixel / voxel size per axis (Y X or Z Y X), for segmentation and the "
                      "tracking distances"),
             arg("--max-distance", type=float, metavar="D",
                 help="largest displacement between frames (default: 2 × the median diameter)"),
             arg("--gap-closing", action="store_true",
                 help="bridge tracks over one missing frame"),
             arg("--no-divisions", action="store_true", help="do not detect divisions"),
             BACKEND_ARG,
             PRECISION_ARG,
             THREADS_ARG,
             DEVICE_ARG,
             arg("--overwrite", action="store_true",
                 help="replace an existing result (default: refuse one; finish the frames a "
                      "killed run into NN_RES left)"),
             QUIET_ARG,
         ])
def _run_ctc(args: argparse.Namespace) -> int:
    from microseg.pipelines.ctc import segment_and_track
    from microseg.pipelines.files import SegmentOptions
    from microseg.track import TrackConfig

    options = SegmentOptions(post=args.post, diameter=args.diameter, z_context=args.z_context,
                             spacing=args.spacing)
    config = TrackConfig(max_distance=args.max_distance, spacing=args.spacing,
                         gap_closing=args.gap_closing, divisions=not args.no_divisions)
    predictor_options = _predictor_options(args)
    result = segment_and_track(args.seq_dir, args.model, args.out, track_config=config,
                               options=options, overwrite=args.overwrite,
                               progress=not args.quiet, **predictor_options)
    print(f"segmented and tracked {len(result.frames)} frames: {result.n_tracks} tracks, "
          f"{result.n_divisions} divisions; wrote {args.out}")
    return 0


@command("models", help="The bundled pretrained models: `list` (default) shows one row per "
                        "model, `info NAME` its model card; `pack CKPT OUT [--half]` turns a "
                        "training checkpoint into a bundled one (weights and meta only).",
         arguments=[
             arg("action", nargs="?", choices=["list", "info", "pack"], default="list",
                 help="list (default), info or pack"),
             arg("name", nargs="?", help="info: the model's name; pack: the checkpoint"),
             arg("target", nargs="?", help="pack: the file to write"),
             arg("--half", action="store_true", help="pack: store the weights as float16"),
         ])
def _run_models(args: argparse.Namespace) -> int:
    from microseg import zoo
    from microseg.errors import ConfigError

    if args.action == "pack":
        if args.name is None or args.target is None:
            raise ConfigError("`models pack` needs a checkpoint and the file to write")
        from microseg.zoo.pack import pack_checkpoint

        written = pack_checkpoint(args.name, args.target, half=args.half)
        print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")
        return 0
    if args.action == "list":
        if args.name is not None:
            raise ConfigError(f"`models list` takes no name (did you mean `models info "
                              f"{args.name}`?)")
        print(zoo.models_table())
        return 0
    if args.name is None:
        raise ConfigError(f"`models info` needs a model name; available: "
                          f"{', '.join(zoo.available()) or 'none'}")
    print(zoo.describe(args.name))
    return 0


@command("export", help="Export a model for other tools: ONNX or TorchScript taking raw images "
                        "(the normalisation inside), or a bioimage.io package (zip) that "
                        "bioimageio.core, ilastik and deepImageJ run.",
         arguments=[
             arg("model", help="bundled model name (see `microseg models list`) or checkpoint "
                               "(.pt)"),
             arg("--onnx", metavar="OUT.onnx", help="write an ONNX model"),
             arg("--torchscript", metavar="OUT.pt", help="write a TorchScript model"),
             arg("--bioimageio", metavar="OUT.zip", help="write a bioimage.io model package"),
             arg("--card", metavar="CARD.yaml",
                 help="bioimageio: the model card (authors, licence, citations, documentation; "
                      "default: a bundled model's own)"),
         ])
def _run_export(args: argparse.Namespace) -> int:
    from microseg.pipelines.export import export_model

    for path in export_model(args.model, onnx=args.onnx, torchscript=args.torchscript,
                             bioimageio=args.bioimageio, card=args.card):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
