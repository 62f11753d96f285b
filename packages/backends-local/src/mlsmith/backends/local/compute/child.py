"""What runs inside a task process started by ``ProcessCompute``.

The child leads its own session and process group (``os.setsid``), so that cancel can signal the
task together with every helper it started (joblib workers, BLAS threads' processes). SIGTERM
first asks the task to stop cooperatively; the parent sends SIGKILL to the group after a grace.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from mlsmith.backends.local.compute.lazy_backends import LazyBackends
from mlsmith.core import cancellation
from mlsmith.core.errors import Cancelled
from mlsmith.core.settings import Settings
from mlsmith.core.tasks_loader import resolve_task

log = logging.getLogger(__name__)

# Keeps the result message far below a pipe buffer, so sending it can never block the exit.
MAX_ERROR_CHARS = 4000


def run_task(
    target: str,
    kwargs: dict[str, Any],
    settings_snapshot: dict[str, Any],
    allowed_prefixes: Sequence[str],
    result: Connection,
) -> None:
    os.setsid()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    backends = LazyBackends(Settings.model_validate(settings_snapshot))
    outcome: tuple[str, str | None]
    try:
        fn = resolve_task(target, allowed_prefixes)
        with cancellation.scope(stop):
            fn(backends=backends, **kwargs)
        outcome = ("done", None)
    except Cancelled:
        outcome = ("cancelled", None)
    except BaseException as exc:  # a task process reports everything, SystemExit included
        outcome = ("failed", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
    finally:
        try:
            backends.close()
        except Exception:  # the task's outcome matters more than a failed close
            log.warning("closing the task's backends failed", exc_info=True)
    result.send(outcome)
    result.close()
