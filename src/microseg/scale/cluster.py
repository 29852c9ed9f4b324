"""Where blocks run: any Dask scheduler, chosen by name or address.

================  ===============================================================================
``threads``       threads of this process (default; torch runs one thread per worker thread)
``processes``     a pool of local processes (dask's multiprocessing scheduler)
``local``         a :class:`distributed.LocalCluster` of ``workers`` processes of one thread each
``tcp://host:p``  an existing cluster, through :class:`distributed.Client` (its workers as they are)
================  ===============================================================================

:func:`dask_runner` yields a :class:`Runner` that computes collections under that scheduler with
a progress bar (dask's :class:`~dask.diagnostics.ProgressBar`, or distributed's ``progress`` and
the dashboard link), and ships a model object to every worker once.
"""
from __future__ import annotations

import contextlib
import importlib.util
import sys
from dataclasses import dataclass
from typing import Any, Iterator

from microseg.errors import ConfigError

SCHEDULERS = ("threads", "processes", "local")


def check_scheduler(scheduler: str) -> str:
    """``scheduler`` if it names one of :data:`SCHEDULERS` or is a ``tcp://`` / ``tls://``
    address; ConfigError otherwise."""
    if scheduler in SCHEDULERS or str(scheduler).startswith(("tcp://", "tls://")):
        return scheduler
    raise ConfigError(f"scheduler must be one of {', '.join(SCHEDULERS)} or a cluster address "
                      f"such as tcp://host:8786, got {scheduler!r}")


@dataclass
class Runner:
    """Computes dask collections under one scheduler: the local ``scheduler`` name, or the
    distributed ``client``."""

    scheduler: str
    workers: int | None
    client: Any = None
    progress: bool = True

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        """``dask.compute(*collections)`` on this runner's scheduler, with progress; a list
        of collections comes back as the list of their results. Graphs are not optimised:
        dask's array optimisation would fuse a block's task into each of its consumers (the
        store of its core, the matching of its faces) and so run it once per consumer."""
        import dask

        collections = tuple(dask.delayed(c) if isinstance(c, list) else c for c in collections)

        if self.client is None:
            from dask.diagnostics import ProgressBar

            bar = ProgressBar(dt=1.0, out=sys.stderr) if self.progress \
                else contextlib.nullcontext()
            with bar:
                return dask.compute(*collections, scheduler=self.scheduler,
                                    num_workers=self.workers, optimize_graph=False)
        futures = self.client.compute(list(collections), optimize_graph=False)
        if self.progress:
            from distributed import progress

            progress(futures)
            print(file=sys.stderr)
        return tuple(self.client.gather(futures))

    def ship(self, value: Any) -> Any:
        """``value`` ready to be an argument of every block: on a cluster, scattered once to
        every worker; otherwise itself."""
        if self.client is None:
            return value
        return self.client.scatter(value, broadcast=True, hash=False)

    @property
    def distributed(self) -> bool:
        return self.client is not None


@contextlib.contextmanager
def dask_runner(scheduler: str = "threads", workers: int | None = None,
                progress: bool = True) -> Iterator[Runner]:
    """A :class:`Runner` for ``scheduler`` (see the module docstring) with ``workers``
    workers (default: the scheduler's; ignored for a cluster address); a local cluster is
    closed on exit."""
    scheduler = check_scheduler(scheduler)
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if scheduler in ("threads", "processes"):
        yield Runner(scheduler, workers, progress=progress)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(f"scheduler {scheduler!r} needs dask.distributed: pip install "
                          f"'microseg[cluster]'") from None
    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            dashboard = ":0" if importlib.util.find_spec("bokeh") else None
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers or 1, threads_per_worker=1, processes=True,
                dashboard_address=dashboard, silence_logs=40))
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
            except OSError as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: "
                                  f"{exc}") from None
        if progress and client.dashboard_link and (scheduler != "local" or dashboard):
            print(f"dask dashboard: {client.dashboard_link}", file=sys.stderr)
        yield Runner(scheduler, workers, client, progress)
