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
