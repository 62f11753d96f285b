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
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from mlsmith.backends.local.compute.child import run_task
from mlsmith.core.compute_tasks import ENDED as ENDED  # re-exported: public name of this module
from mlsmith.core.compute_tasks import TaskRecord, TaskTable
from mlsmith.core.ports.compute import TaskState, TaskStatus
from mlsmith.core.settings import Settings
from mlsmith.core.tasks_loader import DEFAULT_ALLOWED_PREFIXES, resolve_task, validate_kwargs

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

log = logging.getLogger(__name__)


@dataclass
class _Task(TaskRecord):
    target: str
    kwargs: dict[str, Any]
    process: BaseProcess | None = None
    result: Connection | None = None
    kill_at: float | None = None  # monotonic time to SIGKILL the group of a cancelled task


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
        self._tasks: TaskTable[_Task] = TaskTable()
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
        with self._tasks.lock:
            self._tasks.add(task_id, _Task(target, clean))
            self._ensure_monitor()
            self._tasks.start_pending(self._workers, self._start)
        self._wake()

    def cancel(self, task_id: str) -> bool:
        if not self._tasks.cancel(task_id, stop=self._terminate):
            return False
        # The monitor must now also watch the kill deadline (a spare wake costs it one loop).
        self._wake()
        return True

    def status(self, task_id: str) -> TaskStatus:
        return self._tasks.status(task_id)

    def wait(self, task_id: str, timeout_s: float | None = None) -> TaskStatus:
        return self._tasks.wait(task_id, timeout_s)

    def close(self) -> None:
        live = self._tasks.close()
        for task_id in live:
            self.cancel(task_id)
        self._wake()
        if self._monitor is not None:
            self._monitor.join(self._grace_s + self._close_timeout_s)
            if not self._monitor.is_alive() and self._wake_w is not None:
                self._wake_w.close()
                self._wake_r.close()  # type: ignore[union-attr]
                self._wake_r = self._wake_w = None

    def _terminate(self, task: _Task) -> bool:
        """SIGTERM the running task's group, SIGKILL it after the grace (lock held)."""
        assert task.process is not None and task.process.pid is not None
        _signal_group(task.process.pid, signal.SIGTERM)
        task.kill_at = time.monotonic() + self._grace_s
        return False  # it has run: it ends when the monitor sees its process exit

    # -- monitor --------------------------------------------------------------------------

    def _ensure_monitor(self) -> None:
        if self._monitor is None:
            self._wake_r, self._wake_w = self._mp.Pipe(duplex=False)
            self._monitor = threading.Thread(
                target=self._watch, name="mlsmith-process-compute", daemon=True
            )
            self._monitor.start()

    def _wake(self) -> None:
        with self._tasks.lock:
            wake = self._wake_w
        if wake is not None:  # sent without the lock: the monitor takes it after draining
            with contextlib.suppress(OSError):
                wake.send_bytes(b"")

    def _watch(self) -> None:
        assert self._wake_r is not None
        while True:
            with self._tasks.lock:
                running = {
                    t.process.sentinel: t for t in self._tasks.running() if t.process is not None
                }
                if self._tasks.closed and not running and not self._tasks.queued:
                    return
                deadlines = [t.kill_at for t in running.values() if t.kill_at is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            ready = wait([self._wake_r, *running], timeout)
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            with self._tasks.lock:
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
                self._tasks.finish(task, *self._outcome(task))
            elif task.kill_at is not None and task.kill_at <= now:
                _signal_group(task.process.pid, signal.SIGKILL)
                task.kill_at = None
        self._tasks.start_pending(self._workers, self._start)

    def _outcome(self, task: _Task) -> tuple[TaskState, str | None]:
        assert task.process is not None and task.result is not None
        message = None
        with contextlib.suppress(EOFError, OSError):
            if task.result.poll():
                message = task.result.recv()
        task.result.close()
        code = task.process.exitcode
        task.process.close()
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

    def _start(self, task: _Task) -> bool:
        """Start one queued task in its own process (called with the lock held)."""
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
            task.end(TaskState.FAILED, f"could not start a task process: {exc}")
            return False
        finally:
            writer.close()  # the child holds its own copy
        task.process, task.result = process, reader
        return True


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
