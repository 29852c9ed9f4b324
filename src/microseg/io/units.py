"""Output units: the files written for one input, claimed by one process, written together and
marked complete, so that a batch killed at any moment can be rerun to finish its work.

The bookkeeping lives in the hidden folder ``.microseg/`` of the output folder:

- ``NAME.lock`` claims unit ``NAME`` for one process. It is created with ``O_CREAT | O_EXCL``
  and names the holder (host, pid, process start time); another process leaves the unit alone
  while the holder lives, and takes over a lock whose holder is gone (killed);
- the outputs are written into ``NAME.staging/`` and renamed into place together;
- ``NAME.json``, written last, records the input the outputs came from. A unit is complete when
  its record names the same input (path, size, modification time) and every output exists.

Claiming a unit removes what an interrupted write of it left: the staging folder and ``.part``
files (:func:`~microseg.io.atomic.partial_files`).

>>> unit = OutputUnit(Path("out"), "a", (Path("out/a_labels.tif"),))      # doctest: +SKIP
>>> with unit.claimed(), unit.staged(source_record(Path("a.tif"))) as (labels_path,):
...     write_labels(labels_path, labels)                                  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from microseg.io.atomic import atomic_path, partial_files, replace_tree

BOOKKEEPING = ".microseg"
#: Seconds a lock may stay unreadable (its creator still writing it) before it counts as stale.
LOCK_GRACE = 10.0


class Skipped(Exception):
    """A unit left alone: complete already, or claimed by another live process (the message
    says which)."""


@dataclass(frozen=True)
class OutputUnit:
    """The outputs ``outputs`` (files of ``folder``) of one input, named ``name`` in the
    bookkeeping."""

    folder: Path
    name: str
    outputs: tuple[Path, ...]

    def _bookkeeping(self, suffix: str) -> Path:
        return self.folder / BOOKKEEPING / f"{self.name}{suffix}"

    @property
    def marker(self) -> Path:
        return self._bookkeeping(".json")

    @property
    def lock(self) -> Path:
        return self._bookkeeping(".lock")

    @property
    def staging(self) -> Path:
        return self._bookkeeping(".staging")

    def record(self) -> dict[str, Any] | None:
        """The input recorded by the marker, or None without a readable one."""
        return read_record(self.marker)

    @contextlib.contextmanager
    def claimed(self) -> Iterator[bool]:
        """Hold the unit's lock for the block and yield whether it was taken over from a dead
        process (whose outputs, complete or not, are then this unit's). Raises
        :class:`Skipped` when a live process holds it. Leftovers of an interrupted write are
        removed first."""
        with claim(self.lock) as took_over:
            shutil.rmtree(self.staging, ignore_errors=True)
            for path in (*self.outputs, self.marker):
                for part in partial_files(path):
                    part.unlink(missing_ok=True)
            yield took_over

    @contextlib.contextmanager
    def staged(self, source: dict[str, Any]) -> Iterator[list[Path]]:
        """Yield one path per output to write to (a file or a folder); when the block succeeds
        they are renamed into place together, replacing what is there, and the marker then
        records ``source``. Outputs outside :attr:`folder` (an OME-Zarr input's label image)
        are yielded as they are: their writer puts them in place atomically itself. Call
        inside :meth:`claimed`."""
        self.marker.unlink(missing_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
        staged = [self.staging / path.name if path.parent == self.folder else path
                  for path in self.outputs]
        try:
            yield staged
            for written, path in zip(staged, self.outputs):
                if written != path:
                    replace_tree(written, path)
            write_record(self.marker, source)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)


def source_record(path: Path) -> dict[str, Any]:
    """What identifies an input: its resolved path, size and modification time."""
    stat = path.stat()
    return {"input": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def read_record(path: Path) -> dict[str, Any] | None:
    """A JSON record written by :func:`write_record`, or None when missing or unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record), encoding="utf-8")


def unit_names(folder: Path) -> set[str]:
    """Names of the units with bookkeeping in ``folder``: complete, being written or
    interrupted."""
    bookkeeping = folder / BOOKKEEPING
    if not bookkeeping.is_dir():
        return set()
    return {p.name[:-len(p.suffix)] for p in bookkeeping.iterdir()
            if p.suffix in (".json", ".lock") and not p.name.startswith(".")}


# --- claims --------------------------------------------------------------------------------------

@contextlib.contextmanager
def claim(lock: Path) -> Iterator[bool]:
    """Hold ``lock`` for the block and yield whether it was taken over from a dead process;
    :class:`Skipped` when a live process holds it."""
    mine = json.dumps(_holder()).encode()
    took_over = _acquire(lock, mine)
    try:
        yield took_over
    finally:
        with contextlib.suppress(OSError):
            if lock.read_bytes() == mine:
                lock.unlink()


def _acquire(lock: Path, mine: bytes) -> bool:
    """Create ``lock`` holding ``mine`` → whether a dead holder's lock was removed first."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    took_over = False
    for _ in range(5):
        if _create(lock, mine):
            return took_over
        try:
            seen = lock.read_bytes()
        except FileNotFoundError:           # released meanwhile
            continue
        holder = _parse(seen)
        if _alive(holder, lock):
            raise Skipped(f"being written by process {holder.get('pid', '?')} on "
                          f"{holder.get('host', '?')} (lock {lock})")
        took_over |= _break(lock, seen)
    raise Skipped(f"claimed by other processes meanwhile (lock {lock})")


def _create(path: Path, content: bytes) -> bool:
    """Create ``path`` holding ``content`` unless it exists → whether it was created."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    return True


def _break(lock: Path, seen: bytes) -> bool:
    """Remove ``lock`` if it still holds ``seen`` (a dead holder's) → whether it did. The lock is
    first moved aside, so that a live claim made meanwhile is put back, not removed."""
    aside = lock.with_name(f".{lock.name}.{os.getpid()}.stale")
    try:
        os.replace(lock, aside)
    except FileNotFoundError:
        return False
    content = aside.read_bytes()
    if content != seen:
        _create(lock, content)
    aside.unlink()
    return content == seen


def _parse(content: bytes) -> dict[str, Any]:
    """The holder a lock names; empty when unreadable."""
    try:
        holder = json.loads(content)
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _alive(holder: dict[str, Any], lock: Path) -> bool:
    """Whether the process named by a lock may still run: an unreadable lock lives for
    :data:`LOCK_GRACE` seconds; one from another host, or on a system whose processes cannot
    be probed without harm (not POSIX), always."""
    if not holder:
        with contextlib.suppress(OSError):
            return time.time() - lock.stat().st_mtime < LOCK_GRACE
        return False
    if holder.get("host") != socket.gethostname() or os.name != "posix":
        return True
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _process_stat(pid)
    if stat is None:
        return True
    started = holder.get("started")
    return stat[0] != "Z" and (started is None or started == int(stat[19]))


def _holder() -> dict[str, Any]:
    pid = os.getpid()
    stat = _process_stat(pid)
    return {"host": socket.gethostname(), "pid": pid,
            "started": None if stat is None else int(stat[19])}


def _process_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (Linux; None elsewhere): the
    state first (``Z``: a zombie, dead), the start time in clock ticks since boot at index 19,
    which tells a process from a later one given the same pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()
