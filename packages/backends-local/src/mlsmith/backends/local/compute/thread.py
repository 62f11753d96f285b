"""``ThreadCompute``: tasks run on a thread pool inside this process.

Threads cannot be stopped from outside, so cancel is cooperative for a running task (it sees
``cancellation.requested()``) and immediate for one still queued behind the worker limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlsmith.core import cancellation
from mlsmith.core.errors import AlreadyExists, BackendUnavailable, Cancelled, ConfigError
from mlsmith.core.ports.compute import TaskState, TaskStatus
from mlsmith.core.tasks_loader import DEFAULT_ALLOWED_PREFIXES, resolve_task, validate_kwargs

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

ENDED = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED})


@dataclass
class _Task:
    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    state: TaskState = TaskState.PENDING
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
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
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()
        self._closed = False

    def bind(self, backends: Backends) -> None:
        self._backends = backends

    def submit(self, task_id: str, target: str, kwargs: dict[str, Any]) -> None:
        fn = resolve_task(target, self._allowed)
        clean = validate_kwargs(kwargs)
        with self._lock:
            if self._closed:
                raise BackendUnavailable("compute is closed")
            if self._backends is None:
                raise ConfigError("compute is not bound to backends")
            current = self._tasks.get(task_id)
            if current is not None and current.state not in ENDED:
                raise AlreadyExists(f"task {task_id} is still {current.state}", task_id=task_id)
            task = self._tasks[task_id] = _Task(fn, clean)
            task.future = self._executor.submit(self._run, task)

    def cancel(self, task_id: str) -> bool:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.state in ENDED:
                return False
            task.stop.set()
            # A queued task is dropped here; one that just started sees ``stop`` in ``_run``.
            if task.state is TaskState.PENDING and task.future is not None and task.future.cancel():
                _end(task, TaskState.CANCELLED, None)
            return True

    def status(self, task_id: str) -> TaskStatus:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return TaskStatus(TaskState.UNKNOWN)
            return TaskStatus(task.state, task.error)

    def wait(self, task_id: str, timeout_s: float | None = None) -> TaskStatus:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is not None:
            task.ended.wait(timeout_s)
        return self.status(task_id)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            live = [i for i, t in self._tasks.items() if t.state not in ENDED]
        for task_id in live:
            self.cancel(task_id)
        # Running tasks stop at their next cancellation check; do not hang forever on one that
        # never checks (its thread is abandoned, the process exit reclaims it).
        self._executor.shutdown(wait=False, cancel_futures=True)
        for task_id in live:
            self._tasks[task_id].ended.wait(self._close_timeout_s)

    def _run(self, task: _Task) -> None:
        with self._lock:
            if task.stop.is_set():  # cancelled between dequeue and start
                _end(task, TaskState.CANCELLED, None)
                return
            task.state = TaskState.RUNNING
        state, error = TaskState.DONE, None
        try:
            with cancellation.scope(task.stop):
                task.fn(backends=self._backends, **task.kwargs)
        except Cancelled:
            state = TaskState.CANCELLED
        except Exception as exc:
            state, error = TaskState.FAILED, f"{type(exc).__name__}: {exc}"
        with self._lock:
            # However a task ends after a cancel request, the cancel is what ended it.
            if task.stop.is_set():
                state, error = TaskState.CANCELLED, None
            _end(task, state, error)


def _end(task: _Task, state: TaskState, error: str | None) -> None:
    task.state, task.error = state, error
    task.ended.set()
