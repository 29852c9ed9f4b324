"""Errors raised by microseg. Every error about user input names the file and the problem."""
from __future__ import annotations

from pathlib import Path


class MicrosegError(Exception):
    """Base class of every error microseg raises on purpose."""


class InputError(MicrosegError, ValueError):
    """A file, folder or array given by the user cannot be used.

    The message always starts with the offending path (when there is one) and states the reason.
    """

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)


class ConfigError(MicrosegError, ValueError):
    """A configuration (YAML file or dict) names something unknown or has a bad value."""
