"""``ThreadCompute``: tasks run on a thread pool inside this process.

Threads cannot be stopped from outside, so cancel is cooperative for a running task (it sees
``cancellation.requested()``) and immediate for one still queued behind the worker limit. The
port's bookkeeping lives in ``mlsmith.core.compute_tasks``; the pool's own queue holds pending tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlsmith.core.compute_tasks import ENDED as ENDED  # re-exported: public name of this module
from mlsmith.core.compute_tasks import TaskRecord, TaskTable, run_here
from mlsmith.core.errors import ConfigError
from mlsmith.core.ports.compute import TaskState, TaskStatus
from mlsmith.core.tasks_loader import DEFAULT_ALLOWED_PREFIXES, resolve_task, validate_kwargs

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends


@dataclass
class _Task(TaskRecord):
    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    future: Future[None] | None = None


class ThreadCompute:
    def __init__(
        self,
        workers: int,
        allowed_prefixes: Sequence[str] = DEFAULT_ALLOWED_PREFIXES,
        close_timeout_s: float = 10.0,
    ) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlsmith-task")
        self._allowed = tuple(allowed_prefixes)
        self._close_timeout_s = close_timeout_s
        self._backends: Backends | None = None
        self._tasks: TaskTable[_Task] = TaskTable()

    def bind(self, backends: Backends) -> None:
        self._backends = backends

    def submit(self, task_id: str, target: str, kwargs: dict[str, Any]) -> None:
        fn = resolve_task(target, self._allowed)
        clean = validate_kwargs(kwargs)
        with self._tasks.lock:
            self._tasks.ensure_open()  # a closed compute says so before anything else
            if self._backends is None:
                raise ConfigError("compute is not bound to backends")
            task = self._tasks.add(task_id, _Task(fn, clean), queue=False)
            task.future = self._executor.submit(self._run, task)

    def cancel(self, task_id: str) -> bool:
        return self._tasks.cancel(task_id, stop=_drop_if_queued)

    def status(self, task_id: str) -> TaskStatus:
        return self._tasks.status(task_id)

    def wait(self, task_id: str, timeout_s: float | None = None) -> TaskStatus:
        return self._tasks.wait(task_id, timeout_s)

    def close(self) -> None:
        live = self._tasks.close()
        for task_id in live:
            self.cancel(task_id)
        # Running tasks stop at their next cancellation check; do not hang forever on one that
        # never checks (its thread is abandoned, the process exit reclaims it).
        self._executor.shutdown(wait=False, cancel_futures=True)
        for task_id in live:
            self._tasks.wait(task_id, self._close_timeout_s)

    def _run(self, task: _Task) -> None:
        with self._tasks.lock:
            if task.stop.is_set():  # cancelled between dequeue and start
                task.end(TaskState.CANCELLED, None)
                return
            task.state = TaskState.RUNNING
        outcome = run_here(task.fn, task.kwargs, self._backends, task.stop)
        with self._tasks.lock:
            self._tasks.finish(task, *outcome)


def _drop_if_queued(task: _Task) -> bool:
    # A queued task is dropped from the pool here; one that just started sees ``stop`` in ``_run``.
    return task.state is TaskState.PENDING and task.future is not None and task.future.cancel()
