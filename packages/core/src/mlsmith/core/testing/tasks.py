"""Importable task functions for the compute contract (targets ``mlsmith.core.testing.tasks:*``).

They live in the package, not in a test module, because a process or Celery compute imports its
task by name in another interpreter. Files are the way they report back: they work across
processes without any other port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlsmith.core import cancellation
from mlsmith.core.errors import Cancelled

_POLL_S = 0.01
# A helper that ignores SIGTERM, as a stuck native library might: only SIGKILL stops it.
_STUBBORN_HELPER = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: pass"


def write_file(backends: Any, path: str, text: str) -> None:
    """Write ``text`` to ``path``: proves the task ran with its kwargs."""
    Path(path).write_text(text, encoding="utf-8")


def write_data_dir(backends: Any, path: str) -> None:
    """Write the data dir of the backends the task received: proves which backends it got."""
    Path(path).write_text(str(backends.settings.data_dir), encoding="utf-8")


def fail(backends: Any, message: str) -> None:
    raise RuntimeError(message)


def wait_cooperatively(backends: Any, seconds: float, started_file: str | None = None) -> None:
    """Wait up to ``seconds``, stopping with ``Cancelled`` as soon as cancellation is requested.

    ``started_file`` is written once the task runs, so a test knows it is past any start-up.
    """
    if started_file:
        Path(started_file).write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cancellation.requested():
            raise Cancelled("task cancelled")
        time.sleep(_POLL_S)


def burn_cpu(backends: Any, seconds: float, pid_file: str, helpers: int = 0) -> None:
    """Spin the CPU for ``seconds`` ignoring cancellation: only a preemptive compute stops it.

    ``helpers`` starts that many busy child processes first, like joblib or BLAS would; their pids
    follow the task's own in ``pid_file`` (one per line), so a test can check they were stopped.
    """
    children = [
        # A fixed argv of this interpreter: no shell, no input from data.
        subprocess.Popen([sys.executable, "-c", _STUBBORN_HELPER])  # noqa: S603
        for _ in range(helpers)
    ]
    pids = [os.getpid(), *(child.pid for child in children)]
    tmp = Path(pid_file + ".tmp")
    tmp.write_text("\n".join(map(str, pids)), encoding="utf-8")
    tmp.replace(pid_file)  # atomic: a reader never sees half the pids
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass


def exit_process(backends: Any, code: int) -> None:
    """End the interpreter at once, as a crash or the OOM killer would (no exception, no cleanup)."""
    os._exit(code)


def write_port_type(backends: Any, port: str, path: str) -> None:
    """Write the class name of one port's adapter: proves the task got working backends."""
    Path(path).write_text(type(getattr(backends, port)).__name__, encoding="utf-8")
