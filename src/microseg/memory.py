"""Memory sizes: the RAM available now, and byte counts read and written as ``8G`` / ``1.5 GiB``.

>>> parse_size("1.5G") == 3 * 2**29
True
>>> format_size(3 * 2**29)
'1.5 GiB'
"""
from __future__ import annotations

import re

#: Unit prefixes of :func:`parse_size` and :func:`format_size` (powers of 1024).
UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def available_memory() -> int | None:
    """Bytes of RAM available to new allocations now: psutil's figure when it is installed,
    else ``MemAvailable`` of ``/proc/meminfo``; None when neither is known."""
    try:
        import psutil
    except ImportError:
        return _meminfo_available()
    return int(psutil.virtual_memory().available)


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def parse_size(text: str) -> int:
    """``"8G"``, ``"512 MiB"``, ``"1.5g"`` or plain bytes → bytes (units are powers of 1024);
    ValueError for anything else."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"expected a size such as 8G, 512M or 1.5GiB, got {text!r}")
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


def format_size(size: float) -> str:
    """Bytes → the largest unit that keeps the number at least 1, one decimal (``1.5 GiB``)."""
    prefix = max((p for p, factor in UNITS.items() if size >= factor), key=UNITS.get,
                 default="")
    return f"{size / UNITS[prefix]:.1f} {prefix}iB" if prefix else f"{int(size)} B"
