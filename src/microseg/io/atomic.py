"""Atomic writes: write to a temporary name in the destination folder, then rename."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched, so a reader
    never sees a half-written file. Parent folders are created. The file gets the permissions a
    plain ``open(path, "w")`` would give it: those of the file it replaces, else the default of
    the process umask (not the owner-only mode of a temporary file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix,
                               dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _mode_of(path))
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def partial_files(path: str | Path) -> list[Path]:
    """The temporary files of :func:`atomic_path` beside ``path``: those a killed process left
    (or a running one is writing; remove them only for a path no other process writes)."""
    path = Path(path)
    pattern = f".{glob.escape(path.name)}.*.part{glob.escape(path.suffix)}"
    return sorted(path.parent.glob(pattern))


def _mode_of(path: Path) -> int:
    """Permission bits of ``path`` if it exists, else ``0o666`` less the process umask."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def replace_tree(source: str | Path, target: str | Path) -> None:
    """Move file or folder ``source`` to ``target``, replacing what is there (a folder too):
    the old ``target`` is first renamed aside, so ``target`` is at every moment either the old
    one or the new one, then removed."""
    source, target = Path(source), Path(target)
    if not target.is_dir():
        os.replace(source, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    old = aside / target.name
    os.replace(target, old)
    try:
        os.replace(source, target)
    except OSError:
        os.replace(old, target)
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)
