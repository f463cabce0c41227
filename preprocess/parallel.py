"""Run independent tasks on Ray (local by default, a cluster with ``--address``) or inline.

Every task is given an explicit CPU share: with Ray's default of one CPU per task, a small
machine that also runs the driver can wait forever. ``workers=0`` runs the tasks in this process,
which is what a debugger (or a quick test) wants.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bar(enabled: bool = True) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        disable=not enabled,
    )


def run_tasks(
    fn: Callable[..., Any],
    tasks: Sequence[tuple],
    *,
    workers: int | None = None,
    address: str | None = None,
    cpus_per_task: float = 1.0,
) -> Iterator[Any]:
    """Yield ``fn(*task)`` results as they complete.

    ``workers=0``: inline. Otherwise Ray: joins ``address`` (or ``RAY_ADDRESS``) if given,
    else starts a local instance with ``workers`` CPUs (default: all cores).
    """
    if workers == 0:
        for task in tasks:
            yield fn(*task)
        return
    with ray_session(workers, address) as ray:
        remote = ray.remote(num_cpus=cpus_per_task, max_retries=0)(fn)
        pending = [remote.remote(*task) for task in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])


@contextlib.contextmanager
def ray_session(num_cpus: int | None, address: str | None = None, log_to_driver: bool = False):
    """Ray for the duration: the running one, a cluster (``address`` or ``RAY_ADDRESS``), or a
    local one with ``num_cpus`` (default: all cores) and no dashboard. Shuts down only a Ray it
    started."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=log_to_driver)
    else:
        ray.init(
            num_cpus=num_cpus or os.cpu_count(),
            include_dashboard=False,
            log_to_driver=log_to_driver,
        )
    try:
        yield ray
    finally:
        ray.shutdown()
