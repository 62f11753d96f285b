"""Task bookkeeping shared by the computes: the port's rules for a task's record, kept once.

Where a task runs (a pool thread, a child process) differs per compute; what the port promises about
its record does not: ids of live tasks are not reused, pending tasks start first in first out up to
the worker limit, cancel ends a queued task at once and asks a running one to stop, whatever ends a
task after a cancel request counts as cancelled, ``wait`` blocks until the end. Written once here so
the thread, process and fake computes cannot drift apart. Stdlib only: the core's fakes use it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mlsmith.core import cancellation
from mlsmith.core.errors import AlreadyExists, BackendUnavailable, Cancelled
from mlsmith.core.ports.compute import TaskState, TaskStatus

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

ENDED = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED})


# kw_only: each compute subclasses this with its own positional fields (what to run, how).
@dataclass(kw_only=True)
class TaskRecord:
    state: TaskState = TaskState.PENDING
    error: str | None = None
    # Set by the first cancel; in-process tasks also watch it through ``mlsmith.core.cancellation``.
    stop: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def end(self, state: TaskState, error: str | None) -> None:
        self.state, self.error = state, error
        self.ended.set()


T = TypeVar("T", bound=TaskRecord)


class TaskTable(Generic[T]):
    """Records by task id, the pending FIFO and the one lock guarding both.

    The compute uses ``lock`` for its own state too, so that one lock orders everything. Methods
    marked "lock held" are steps of a larger operation and expect the caller to hold it; the others
    (``cancel``, ``status``, ``wait``, ``close``) are whole operations and take it themselves.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.closed = False
        self._tasks: dict[str, T] = {}
        self._pending: deque[str] = deque()

    # -- steps (lock held) ------------------------------------------------------------------

    def ensure_open(self) -> None:
        if self.closed:
            raise BackendUnavailable("compute is closed")

    def add(self, task_id: str, task: T, *, queue: bool = True) -> T:
        """Record a new task (lock held); ``queue=False`` when the compute queues it itself."""
        self.ensure_open()
        current = self._tasks.get(task_id)
        if current is not None and current.state not in ENDED:
            raise AlreadyExists(f"task {task_id} is still {current.state}", task_id=task_id)
        self._tasks[task_id] = task
        if queue:
            self._pending.append(task_id)
        return task

    @property
    def queued(self) -> int:
        """How many tasks wait in the pending FIFO (lock held)."""
        return len(self._pending)

    def running(self) -> list[T]:
        """The tasks now running (lock held)."""
        return [t for t in self._tasks.values() if t.state is TaskState.RUNNING]

    def start_pending(self, workers: int, start: Callable[[T], bool]) -> None:
        """Start queued tasks, oldest first, while fewer than ``workers`` run (lock held).

        ``start`` returns False when the task could not start, after ending it itself; such a task
        takes no worker. Nothing starts once the table is closed: close cancels what is queued.
        """
        alive = len(self.running())
        while self._pending and alive < workers and not self.closed:
            task = self._tasks[self._pending.popleft()]
            if start(task):
                task.state = TaskState.RUNNING
                alive += 1

    def finish(self, task: T, state: TaskState, error: str | None) -> None:
        """End a task that ran (lock held)."""
        # However a task ends after a cancel request, the cancel is what ended it.
        if task.stop.is_set():
            state, error = TaskState.CANCELLED, None
        task.end(state, error)

    # -- operations -------------------------------------------------------------------------

    def cancel(self, task_id: str, stop: Callable[[T], bool] | None = None) -> bool:
        """Cancel a live task; False when it is unknown or already ended.

        A task in the pending FIFO ends cancelled here. Any other is handed to ``stop`` (called
        with the lock held), which stops it where it runs and returns True if it will never run, so
        that it ends cancelled here too; without ``stop`` the task only sees its ``stop`` event.
        """
        with self.lock:
            task = self._tasks.get(task_id)
            if task is None or task.state in ENDED:
                return False
            if task.stop.is_set():  # asked before: that request is still being carried out
                return True
            task.stop.set()
            if task.state is TaskState.PENDING and task_id in self._pending:
                self._pending.remove(task_id)
                task.end(TaskState.CANCELLED, None)
            elif stop is not None and stop(task):
                task.end(TaskState.CANCELLED, None)
            return True

    def status(self, task_id: str) -> TaskStatus:
        with self.lock:
            task = self._tasks.get(task_id)
            if task is None:
                return TaskStatus(TaskState.UNKNOWN)
            return TaskStatus(task.state, task.error)

    def wait(self, task_id: str, timeout_s: float | None = None) -> TaskStatus:
        with self.lock:
            task = self._tasks.get(task_id)
        if task is not None:  # waited on without the lock: ending a task needs it
            task.ended.wait(timeout_s)
        return self.status(task_id)

    def close(self) -> list[str]:
        """Refuse new tasks; returns the ids of live ones for the compute to cancel and await."""
        with self.lock:
            self.closed = True
            return [i for i, t in self._tasks.items() if t.state not in ENDED]


def run_here(
    fn: Callable[..., Any], kwargs: dict[str, Any], backends: Backends | None, stop: threading.Event
) -> tuple[TaskState, str | None]:
    """Call a task in this thread and say how it ended; cancel reaches it only through ``stop``."""
    try:
        with cancellation.scope(stop):
            fn(backends=backends, **kwargs)
    except Cancelled:
        return TaskState.CANCELLED, None
    except Exception as exc:
        return TaskState.FAILED, f"{type(exc).__name__}: {exc}"
    return TaskState.DONE, None
