"""Cooperative cancellation for tasks that run inside this process.

An in-process compute cannot stop a thread, so it hands each task a ``threading.Event`` through a
context variable and sets it on cancel; task code (training between folds, say) polls
``requested()`` and stops cleanly. A context variable rather than an argument keeps task
signatures free of plumbing and stays correct when several tasks share a thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mlsmith.core.errors import Cancelled

_current: ContextVar[threading.Event | None] = ContextVar("mlsmith_cancellation", default=None)


def requested() -> bool:
    """True once the compute running the current task has been asked to stop it."""
    event = _current.get()
    return event is not None and event.is_set()


def raise_if_requested() -> None:
    """Raise ``Cancelled`` when a stop was requested: a one-line check between units of work."""
    if requested():
        raise Cancelled("task cancelled")


@contextmanager
def scope(event: threading.Event) -> Iterator[threading.Event]:
    """Make ``event`` the cancellation signal of the code run inside the block."""
    token = _current.set(event)
    try:
        yield event
    finally:
        _current.reset(token)
