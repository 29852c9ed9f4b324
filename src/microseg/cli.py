"""The ``microseg`` command. Thin: every subcommand parses arguments and calls the Python API.

A subcommand is one function decorated with :func:`command`, which lists its arguments with
:func:`arg` (the same signature as ``argparse.ArgumentParser.add_argument``).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Sequence

from microseg.errors import MicrosegError

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
    from microseg import __version__

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
    """Entry point of the ``microseg`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    _, _, run = _COMMANDS[args.command]
    try:
        return int(run(args) or 0)
    except MicrosegError as exc:
        print(f"microseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"microseg {args.command}: interrupted", file=sys.stderr)
        return 130


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
    import yaml

    from microseg.data.synthetic import write_synthetic
    from microseg.errors import ConfigError

    params = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        params[key.strip()] = yaml.safe_load(value)
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
