"""glibc allocator settings for large activations, applied by re-executing the process.

With glibc's default dynamic ``mmap`` threshold, every large tensor of a forward pass (hundreds of
MB for a 2048² image) is handed back to the kernel when freed and page-faulted in again on the
next allocation. Raising the mmap and trim thresholds keeps that memory in the heap, which makes
CPU inference markedly faster (``benchmarks/speed.py`` measures it with and without). glibc
reads ``GLIBC_TUNABLES`` only at process start and ``mallopt`` cannot raise the mmap threshold
above 32 MB, so the process re-executes itself once with the variable set. The ``microseg``
command always does; a Python script opts in by calling :func:`reexec_with_tuned_malloc` first
thing (the script starts again from the top, in a new process image with the same pid):

>>> import microseg as ms
>>> ms.malloc.reexec_with_tuned_malloc()      # doctest: +SKIP

``MICROSEG_MALLOC_TUNING=0`` turns this off; an existing ``mmap_threshold`` tunable is respected.
"""
from __future__ import annotations

import os
import platform
import sys
from typing import Mapping, Sequence

#: Thresholds in bytes (4 GiB): allocations below them reuse heap memory instead of mmap.
TUNABLES = ("glibc.malloc.mmap_threshold=4294967296", "glibc.malloc.trim_threshold=4294967296")
OPT_OUT = "MICROSEG_MALLOC_TUNING"


def tuned_environment(environ: Mapping[str, str]) -> dict[str, str] | None:
    """``environ`` with :data:`TUNABLES` appended to ``GLIBC_TUNABLES``, or None when nothing
    is to change (opted out, or an mmap threshold already set)."""
    current = environ.get("GLIBC_TUNABLES", "")
    if environ.get(OPT_OUT, "1") == "0" or "glibc.malloc.mmap_threshold" in current:
        return None
    parts = [part for part in current.split(":") if part]
    parts += [t for t in TUNABLES if t.split("=")[0] not in current]
    return {**environ, "GLIBC_TUNABLES": ":".join(parts)}


def reexec_with_tuned_malloc(command: Sequence[str] | None = None) -> None:
    """Replace this process by ``command`` (default: the command line that started this Python
    process, ``sys.orig_argv``: the same script, ``-m`` module or ``-c`` code with the same
    arguments) under the tuned environment. Returns without doing anything when the allocator
    is not glibc's, the environment needs no change (opted out, or tuned already: the
    re-executed process returns here), or, without ``command``, in an interactive session,
    which cannot be started again."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return
    if command is None and (sys.flags.interactive or not sys.argv or sys.argv[0] == ""):
        return
    env = tuned_environment(os.environ)
    if env is None:
        return
    command = list(command or [sys.executable, *sys.orig_argv[1:]])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
