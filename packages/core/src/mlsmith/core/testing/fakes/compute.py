"""``FakeCompute``: runs tasks on daemon threads of this process, for core unit tests.

It keeps the port's observable rules (worker limit with pending tasks, cooperative cancel through
``mlsmith.core.cancellation``, the task allowlist, JSON kwargs) so that services tested on it
behave the same on a real compute.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlsmith.core import cancellation
from mlsmith.core.errors import AlreadyExists, BackendUnavailable, Cancelled, ConfigError
from mlsmith.core.ports.compute import TaskState, TaskStatus
from mlsmith.core.tasks_loader import DEFAULT_ALLOWED_PREFIXES, resolve_task, validate_kwargs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mlsmith.core.backends import Backends

_ENDED = {TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED}


@dataclass
class _Task:
    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    state: TaskState = TaskState.PENDING
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)


class FakeCompute:
    def __init__(
        self, workers: int = 2, allowed_prefixes: Sequence[str] = DEFAULT_ALLOWED_PREFIXES
    ) -> None:
        self._workers = workers
        self._allowed = tuple(allowed_prefixes)
        self._backends: Backends | None = None
        self._tasks: dict[str, _Task] = {}
        self._order: list[str] = []  # pending ids, first in first out
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
            if current is not None and current.state not in _ENDED:
                raise AlreadyExists(f"task {task_id} is still {current.state}", task_id=task_id)
            self._tasks[task_id] = _Task(fn, clean)
            self._order.append(task_id)
            self._start_ready()

    def cancel(self, task_id: str) -> bool:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.state in _ENDED:
                return False
            task.stop.set()
            if task.state is TaskState.PENDING:
                self._order.remove(task_id)
                self._end(task, TaskState.CANCELLED, None)
            return True

    def status(self, task_id: str) -> TaskStatus:
        with self._lock:
            task = self._tasks.get(task_id)
            return (
                TaskStatus(TaskState.UNKNOWN)
                if task is None
                else TaskStatus(task.state, task.error)
            )

    def wait(self, task_id: str, timeout_s: float | None = None) -> TaskStatus:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is not None:
            task.ended.wait(timeout_s)
        return self.status(task_id)

    def close(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            self._closed = True
            live = {i: t for i, t in self._tasks.items() if t.state not in _ENDED}
        for task_id in live:
            self.cancel(task_id)
        for task in live.values():
            task.ended.wait(timeout_s)

    # -- internals (called with the lock held) --------------------------------------------

    def _start_ready(self) -> None:
        running = sum(t.state is TaskState.RUNNING for t in self._tasks.values())
        while self._order and running < self._workers:
            task = self._tasks[self._order.pop(0)]
            task.state = TaskState.RUNNING
            running += 1
            threading.Thread(target=self._run, args=(task,), daemon=True).start()

    def _end(self, task: _Task, state: TaskState, error: str | None) -> None:
        task.state, task.error = state, error
        task.ended.set()

    def _run(self, task: _Task) -> None:
        state, error = TaskState.DONE, None
        try:
            with cancellation.scope(task.stop):
                task.fn(backends=self._backends, **task.kwargs)
        except Cancelled:
            state = TaskState.CANCELLED
        except Exception as exc:
            state, error = TaskState.FAILED, f"{type(exc).__name__}: {exc}"
        with self._lock:
            # Whatever way a task ends after a cancel request, the cancel is what ended it.
            if task.stop.is_set():
                state, error = TaskState.CANCELLED, None
            self._end(task, state, error)
            self._start_ready()
