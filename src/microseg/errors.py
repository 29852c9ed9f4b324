"""Errors and warnings of microseg. Every one about user input names the file and the problem."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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


class InputWarning(UserWarning):
    """A file or array given by the user was used, but not as it was (e.g. non-finite pixels
    replaced). Like :class:`InputError`, the message starts with the path when there is one."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)


@contextmanager
def warnings_naming(path: str | Path | None) -> Iterator[None]:
    """Issue the :class:`InputWarning` s of the block that name no file as warnings about
    ``path`` (unchanged when ``path`` is None), as a caller re-raises an array's
    :class:`InputError` with its file; other warnings pass unchanged. They are issued when the
    block ends (also when it raises)."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    finally:
        for record in caught:
            message = record.message
            if isinstance(message, InputWarning) and message.path is None and path is not None:
                message = InputWarning(path, message.reason)
            warnings.warn_explicit(message, record.category, record.filename, record.lineno,
                                   source=record.source)
