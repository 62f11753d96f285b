"""Compute port: run a task somewhere (this thread pool, a child process, a Celery worker).

A task is named by an import path ``"package.module:function"`` and JSON-serialisable keyword
arguments, so that every kind of compute can ship it (a process or a Celery worker rebuilds its own
``Backends`` from settings). The function is called as ``fn(backends=..., **kwargs)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends


class TaskState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"  # the function returned
    FAILED = "failed"  # it raised, or its process died
    CANCELLED = "cancelled"  # stopped by cancel()
    UNKNOWN = "unknown"  # this compute instance never saw the task


@dataclass(frozen=True, slots=True)
class TaskStatus:
    state: TaskState
    error: str | None = None


@runtime_checkable
class Compute(Protocol):
    def bind(self, backends: Backends) -> None:
        """Called once by ``build_backends`` when every port exists (in-process computes use it)."""
        ...

    def submit(self, task_id: str, target: str, kwargs: dict[str, Any]) -> None:
        """Start the task (or queue it behind the concurrency limit). Raises AlreadyExists for a
        task id that is still pending or running."""
        ...

    def cancel(self, task_id: str) -> bool:
        """Stop the task: preemptively where the compute can (a process is terminated, CPU use
        stops), cooperatively otherwise. True when the task was pending or running."""
        ...

    def status(self, task_id: str) -> TaskStatus: ...

    def wait(self, task_id: str, timeout_s: float | None = None) -> TaskStatus:
        """Block until the task ends or the timeout passes; returns the status then."""
        ...

    def close(self) -> None:
        """Stop accepting work; cancel what still runs."""
        ...
