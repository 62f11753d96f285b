"""``FakeCompute``: runs tasks on daemon threads of this process, for core unit tests.

It keeps the port's observable rules (worker limit with pending tasks, cooperative cancel through
``mlsmith.core.cancellation``, the task allowlist, JSON kwargs) so that services tested on it
behave the same on a real compute; the bookkeeping is the real computes' own
(``mlsmith.core.compute_tasks``), only the thread per task is the fake's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlsmith.core.compute_tasks import TaskRecord, TaskTable, run_here
from mlsmith.core.errors import ConfigError
from mlsmith.core.tasks_loader import DEFAULT_ALLOWED_PREFIXES, resolve_task, validate_kwargs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mlsmith.core.backends import Backends
    from mlsmith.core.ports.compute import TaskStatus


@dataclass
class _Task(TaskRecord):
    fn: Callable[..., Any]
    kwargs: dict[str, Any]


class FakeCompute:
    def __init__(
        self, workers: int = 2, allowed_prefixes: Sequence[str] = DEFAULT_ALLOWED_PREFIXES
    ) -> None:
        self._workers = workers
        self._allowed = tuple(allowed_prefixes)
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
            self._tasks.add(task_id, _Task(fn, clean))
            self._tasks.start_pending(self._workers, self._start)

    def cancel(self, task_id: str) -> bool:
        return self._tasks.cancel(task_id)  # a running task sees its ``stop`` event

    def status(self, task_id: str) -> TaskStatus:
        return self._tasks.status(task_id)

    def wait(self, task_id: str, timeout_s: float | None = None) -> TaskStatus:
        return self._tasks.wait(task_id, timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        live = self._tasks.close()
        for task_id in live:
            self.cancel(task_id)
        for task_id in live:
            self._tasks.wait(task_id, timeout_s)

    # -- internals ------------------------------------------------------------------------

    def _start(self, task: _Task) -> bool:
        threading.Thread(target=self._run, args=(task,), daemon=True).start()
        return True

    def _run(self, task: _Task) -> None:
        outcome = run_here(task.fn, task.kwargs, self._backends, task.stop)
        with self._tasks.lock:
            self._tasks.finish(task, *outcome)
            self._tasks.start_pending(self._workers, self._start)
