"""``ProcessCompute``: one child process per task, at most ``workers`` alive at once.

A pool cannot kill a single task, so each task gets its own process, which cancel can stop for
real: SIGTERM to its process group, SIGKILL after a short grace. The child rebuilds its own
backends from a JSON snapshot of the settings (what a Celery worker would do too). A monitor
thread waits on the children's sentinels, records how each ended and starts pending tasks.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from mlsmith.backends.local.compute.child import run_task
from mlsmith.core.errors import AlreadyExists, BackendUnavailable
from mlsmith.core.ports.compute import TaskState, TaskStatus
from mlsmith.core.settings import Settings
from mlsmith.core.tasks_loader import DEFAULT_ALLOWED_PREFIXES, resolve_task, validate_kwargs

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

log = logging.getLogger(__name__)

ENDED = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED})


@dataclass
class _Task:
    target: str
    kwargs: dict[str, Any]
    state: TaskState = TaskState.PENDING
    error: str | None = None
    process: BaseProcess | None = None
    result: Connection | None = None
    cancel_requested: bool = False
    kill_at: float | None = None  # monotonic time to SIGKILL the group of a cancelled task
    ended: threading.Event = field(default_factory=threading.Event)


class ProcessCompute:
    def __init__(
        self,
        settings: Settings,
        workers: int,
        allowed_prefixes: Sequence[str] = DEFAULT_ALLOWED_PREFIXES,
        grace_s: float = 0.5,
        start_method: str = "forkserver",
        close_timeout_s: float = 10.0,
    ) -> None:
        if start_method == "fork":
            raise ValueError("plain fork of a threaded parent can deadlock; use forkserver/spawn")
        self._snapshot = settings.model_dump(mode="json")
        self._workers = workers
        self._allowed = tuple(allowed_prefixes)
        self._grace_s = grace_s
        self._close_timeout_s = close_timeout_s
        self._mp = multiprocessing.get_context(start_method)
        self._tasks: dict[str, _Task] = {}
        self._pending: deque[str] = deque()
        self._lock = threading.Lock()
        self._closed = False
        # Started on first submit: building a compute (in every task process too) stays free.
        self._monitor: threading.Thread | None = None
        self._wake_r: Connection | None = None
        self._wake_w: Connection | None = None

    def bind(self, backends: Backends) -> None:
        """Nothing to keep: task processes build their own backends from the settings."""

    def submit(self, task_id: str, target: str, kwargs: dict[str, Any]) -> None:
        # Resolved here too, so a bad target fails the caller now rather than a process later.
        resolve_task(target, self._allowed)
        clean = validate_kwargs(kwargs)
        with self._lock:
            if self._closed:
                raise BackendUnavailable("compute is closed")
            current = self._tasks.get(task_id)
            if current is not None and current.state not in ENDED:
                raise AlreadyExists(f"task {task_id} is still {current.state}", task_id=task_id)
            self._tasks[task_id] = _Task(target, clean)
            self._pending.append(task_id)
            self._ensure_monitor()
            self._start_pending()
        self._wake()

    def cancel(self, task_id: str) -> bool:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.state in ENDED or task.cancel_requested:
                return task is not None and task.state not in ENDED
            task.cancel_requested = True
            if task.state is TaskState.PENDING:
                self._pending.remove(task_id)
                _end(task, TaskState.CANCELLED, None)
                return True
            assert task.process is not None and task.process.pid is not None
            _signal_group(task.process.pid, signal.SIGTERM)
            task.kill_at = time.monotonic() + self._grace_s
        self._wake()  # the monitor must now also watch the kill deadline
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
        self._wake()
        if self._monitor is not None:
            self._monitor.join(self._grace_s + self._close_timeout_s)
            if not self._monitor.is_alive() and self._wake_w is not None:
                self._wake_w.close()
                self._wake_r.close()  # type: ignore[union-attr]
                self._wake_r = self._wake_w = None

    # -- monitor --------------------------------------------------------------------------

    def _ensure_monitor(self) -> None:
        if self._monitor is None:
            self._wake_r, self._wake_w = self._mp.Pipe(duplex=False)
            self._monitor = threading.Thread(
                target=self._watch, name="mlsmith-process-compute", daemon=True
            )
            self._monitor.start()

    def _wake(self) -> None:
        with self._lock:
            wake = self._wake_w
        if wake is not None:  # sent without the lock: the monitor takes it after draining
            with contextlib.suppress(OSError):
                wake.send_bytes(b"")

    def _watch(self) -> None:
        assert self._wake_r is not None
        while True:
            with self._lock:
                running = {
                    t.process.sentinel: t
                    for t in self._tasks.values()
                    if t.state is TaskState.RUNNING and t.process is not None
                }
                if self._closed and not running and not self._pending:
                    return
                deadlines = [t.kill_at for t in running.values() if t.kill_at is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            ready = wait([self._wake_r, *running], timeout)
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            with self._lock:
                try:
                    self._reap(running, ready)
                except Exception:
                    log.exception("process compute monitor failed to update tasks")

    def _reap(self, running: dict[int, _Task], ready: list[Any]) -> None:
        now = time.monotonic()
        for sentinel, task in running.items():
            assert task.process is not None and task.process.pid is not None
            if sentinel in ready:
                # SIGKILL whatever the task left behind in its group, then collect its status.
                _signal_group(task.process.pid, signal.SIGKILL)
                task.process.join()
                _end(task, *self._outcome(task))
            elif task.kill_at is not None and task.kill_at <= now:
                _signal_group(task.process.pid, signal.SIGKILL)
                task.kill_at = None
        self._start_pending()

    def _outcome(self, task: _Task) -> tuple[TaskState, str | None]:
        assert task.process is not None and task.result is not None
        message = None
        with contextlib.suppress(EOFError, OSError):
            if task.result.poll():
                message = task.result.recv()
        task.result.close()
        code = task.process.exitcode
        task.process.close()
        if task.cancel_requested:
            return TaskState.CANCELLED, None
        if isinstance(message, tuple) and len(message) == 2:
            kind, error = message
            return {
                "done": (TaskState.DONE, None),
                "cancelled": (TaskState.CANCELLED, None),
            }.get(kind, (TaskState.FAILED, str(error)))
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return TaskState.FAILED, f"task process was killed by {name} (exit code {code})"
        return TaskState.FAILED, f"task process died without a result (exit code {code})"

    def _start_pending(self) -> None:
        """Start queued tasks up to the worker limit (called with the lock held)."""
        alive = sum(t.state is TaskState.RUNNING for t in self._tasks.values())
        while self._pending and alive < self._workers and not self._closed:
            task = self._tasks[self._pending.popleft()]
            reader, writer = self._mp.Pipe(duplex=False)
            process = self._mp.Process(
                target=run_task,
                args=(task.target, task.kwargs, self._snapshot, self._allowed, writer),
                name="mlsmith-task",
                daemon=False,  # tasks may start helpers (joblib); daemonic processes cannot
            )
            try:
                process.start()
            except OSError as exc:
                reader.close()
                _end(task, TaskState.FAILED, f"could not start a task process: {exc}")
                continue
            finally:
                writer.close()  # the child holds its own copy
            task.process, task.result, task.state = process, reader, TaskState.RUNNING
            alive += 1


def _end(task: _Task, state: TaskState, error: str | None) -> None:
    task.state, task.error = state, error
    task.ended.set()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the task's process group; the bare process if it has not called setsid yet."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    except PermissionError:
        # The group id was reused by a process we do not own: nothing of ours is left in it.
        log.debug("process group %s no longer ours", pid)
