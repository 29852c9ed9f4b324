"""glibc allocator settings for large activations, applied by re-executing the process.

With glibc's default dynamic ``mmap`` threshold, every large tensor of a forward pass (hundreds of
MB for a 2048² image) is handed back to the kernel when freed and page-faulted in again on the
next allocation. Raising the mmap and trim thresholds keeps that memory in the heap: 1.3–1.9×
faster inference on this project's 2-core CPU machines (``benchmarks/speed.py`` measures it with
and without). glibc reads ``GLIBC_TUNABLES`` only at process start and ``mallopt`` cannot raise
the mmap threshold above 32 MB, so the ``microseg`` command re-executes itself once with the
variable set. ``MICROSEG_MALLOC_TUNING=0`` turns this off; an existing ``mmap_threshold`` tunable
is respected.
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
    """Replace this process by ``command`` (default: ``python -m microseg`` with the same
    arguments) under the tuned environment; returns without doing anything when the allocator
    is not glibc's or the environment needs no change."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return
    env = tuned_environment(os.environ)
    if env is None:
        return
    command = list(command or [sys.executable, "-m", "microseg", *sys.argv[1:]])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
