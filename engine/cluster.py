"""Grids of independent runs on a Ray cluster: one remote task per run, results back as they finish.

A sweep over sizes, an RG fan over starting temperatures and a bulk run's parts are each a list
of plain, picklable task descriptions and a plain function that runs one; :class:`RayExecutor` sends
each to a worker of a cluster and hands every result back the moment it arrives, so a viewer can
show what is done while the rest runs. :func:`run_tasks` runs the same list there or in this process.
A task whose worker process dies (a node lost, a process killed) is run again, up to
:data:`TASK_RETRIES` times (Ray's ``max_retries``); an error raised by the task itself is not
retried but raised here, as its own type. The seeds live in the task descriptions, so where a task
runs never changes its result.

Ray is imported when a :class:`RayExecutor` first runs, never on import of this module: ``rgviz-batch
--help`` and local runs do not need it (``pip install 'rgviz[cluster]'`` installs it).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .errors import ParameterError

#: Re-runs of a task whose worker died, before the whole map fails.
TASK_RETRIES = 3
#: Seconds between two looks at the cancel flag while waiting for results.
POLL_S = 0.25
#: Seconds to wait for the head's port to answer (Ray itself retries an unreachable head for minutes).
REACH_S = 5.0

_lock = threading.Lock()
_connected: dict[str, Any] = {}  # the address this process is connected to (one Ray connection per process)


def import_ray():
    """The ray module, or one clear line telling how to install it."""
    try:
        import ray
    except ImportError:
        raise ParameterError("executor", "ray is not installed; install it with pip install 'rgviz[cluster]'") \
            from None
    return ray


def connect(address: str | None) -> Any:
    """Connect this process to the cluster at ``address``. None keeps the connection this process has, or
    else joins the cluster ``RAY_ADDRESS`` names or starts a Ray instance on this machine; a later call
    with another address reconnects."""
    ray = import_ray()
    with _lock:
        if ray.is_initialized() and (address is None or _connected.get("address") == address):
            return ray
        if address is not None:
            _check_reachable(address)
        if ray.is_initialized():
            ray.shutdown()
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ParameterError("address", f"cannot connect to the Ray cluster at {address!r}: {reason} (a cluster "
                                 "with token authentication needs RAY_AUTH_MODE=token and its ~/.ray/auth_token "
                                 "here)") from None
        _connected["address"] = address
    return ray


def _check_reachable(address: str) -> None:
    """A HOST:PORT whose port does not answer is refused at once (``auto`` and ``ray://`` Ray resolves itself)."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=REACH_S).close()
    except OSError as err:
        raise ParameterError("address", f"nothing answers at {address} ({err.strerror or err}); start the "
                             "cluster there with ray start --head --port PORT") from None


class RayExecutor:
    """Runs ``fn(task)`` for every task on a Ray cluster; :meth:`cancel` (from any thread) stops waiting.

    ``num_gpus`` per task is what Ray reserves for it (1 for runs on a GPU, so that two never share one);
    each task always takes one CPU.
    """

    def __init__(self, address: str | None = None, num_gpus: float = 0, retries: int = TASK_RETRIES):
        self.address = address
        self.num_gpus = num_gpus
        self.retries = retries
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any],
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``[fn(t) for t in tasks]``, run remotely; ``on_done(index, result)`` as each one finishes.

        A cancelled map cancels the tasks still running and returns None in their places.
        """
        ray = connect(self.address)
        remote = ray.remote(fn).options(num_cpus=1, num_gpus=self.num_gpus, max_retries=self.retries)
        refs = [remote.remote(task) for task in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(refs)
        pending = list(refs)
        while pending:
            if self._cancelled.is_set():
                for ref in pending:
                    ray.cancel(ref, force=True)
                break
            done, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
            for ref in done:
                i = index[ref]
                try:
                    results[i] = ray.get(ref)
                except ray.exceptions.RayTaskError as err:  # the task's own error, as its own type and message
                    raise (err.cause if isinstance(err.cause, Exception) else err) from None
                if on_done is not None:
                    on_done(i, results[i])
        return results


def run_tasks(fn: Callable[..., Any], tasks: Sequence[Any], executor: RayExecutor | None = None,
              progress: Callable[[int, int], None] | None = None,
              on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``[fn(t) for t in tasks]``: in this process one after another (``executor`` None), or on ``executor``.

    Here, ``fn(task, progress=...)`` reports inside each task and ``progress(done, total)`` spans them all
    (every task reports the same total), so a long task still moves the bar and a progress callback that
    raises stops the run; on a cluster, ``progress`` counts finished tasks. ``on_done(index, result)`` as
    each task finishes. The tasks carry their seeds, so both give the same results.
    """
    n = len(tasks)
    if executor is None:
        results = []
        for i, task in enumerate(tasks):
            def inner(done: int, total: int, i: int = i) -> None:
                progress(i * total + done, n * total)

            results.append(fn(task, progress=None if progress is None else inner))
            if on_done is not None:
                on_done(i, results[-1])
        return results
    finished = []

    def arrived(i: int, result: Any) -> None:
        finished.append(i)
        if progress is not None:
            progress(len(finished), n)
        if on_done is not None:
            on_done(i, result)

    return executor.map(fn, tasks, arrived)
