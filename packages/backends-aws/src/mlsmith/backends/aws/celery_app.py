"""The Celery app of ``MLSMITH_COMPUTE=celery`` and its one task, ``mlsmith.run_task``.

Configuration follows SECURITY.md ("Jobs"): JSON only, late acks with reject-on-worker-lost (a
worker that dies mid-task makes the broker deliver the task again; our status record bounds how
often, see ``celery_status``), prefetch 1, results ignored (the metadata DB is the truth; the port's
task status lives in the small status record instead), a visibility timeout above the hard time
limit (Redis and SQS redeliver an unacknowledged task after it: below the limit a long task would
run twice), and running tasks cancelled when the broker connection is lost (they are redelivered).

The task runs in a prefork pool process. That process builds its backends once, from the worker's
own settings, on its first task (never in the parent before the fork: database pools do not survive
one). It leads its own process group, so that a cancel (``revoke(terminate=True)`` sends SIGTERM)
first stops the task cooperatively (``mlsmith.core.cancellation``) and, after a short grace, kills
the task together with every helper process it started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlsmith.core import cancellation
from mlsmith.core.errors import Cancelled
from mlsmith.core.settings import Settings
from mlsmith.core.tasks_loader import resolve_task, validate_kwargs

if TYPE_CHECKING:
    from celery import Celery

    from mlsmith.backends.aws.celery_compute import CeleryOptions
    from mlsmith.backends.aws.celery_status import StatusRecords
    from mlsmith.core.backends import Backends

log = logging.getLogger(__name__)

TASK_NAME = "mlsmith.run_task"
MAX_ERROR_CHARS = 4000
RESTORE_SWEEP_S = 10


def make_app(
    opts: CeleryOptions, broker_url: str, *, worker: WorkerContext | None = None
) -> Celery:
    """The app: a client one (sends and revokes) or, with ``worker``, one that runs the task."""
    from celery import Celery

    app = Celery("mlsmith", broker=broker_url, set_as_current=False)
    transport: dict[str, Any] = {"visibility_timeout": int(opts.effective_visibility_timeout_s)}
    if broker_url.startswith(("redis://", "rediss://")):
        # Sweep for tasks of dead workers every RESTORE_SWEEP_S (kombu's default is ~100 s).
        transport |= {"unacked_restore_interval": RESTORE_SWEEP_S, "unacked_restore_throttle": 1}
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        event_serializer="json",
        result_accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_store_errors_even_if_ignored=False,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_time_limit=opts.time_limit_s,
        task_soft_time_limit=opts.soft_time_limit_s,
        broker_transport_options=transport,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_connection_retry_on_startup=True,
        task_default_queue=opts.queue,
        task_create_missing_queues=True,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        enable_utc=True,
    )
    if worker is not None:
        worker.install(app)
    return app


class WorkerContext:
    """What a worker's pool processes share: options, settings, the status records. Set up in the
    worker's main process before the fork; the per-process parts (backends) are built after it."""

    def __init__(self, opts: CeleryOptions, settings: Settings, records: StatusRecords) -> None:
        self.opts = opts
        self.settings = settings
        self.records = records
        self._backends: Backends | None = None

    def install(self, app: Celery) -> None:
        from celery.signals import worker_process_init, worker_process_shutdown

        global _CONTEXT
        _CONTEXT = self
        app.task(
            name=TASK_NAME,
            acks_late=True,
            reject_on_worker_lost=True,
            Request=f"{__name__}:TimeLimitRequest",
        )(self.run_task)
        worker_process_init.connect(self._process_init, weak=False)
        worker_process_shutdown.connect(self._process_shutdown, weak=False)

    # -- pool process life ------------------------------------------------------------------

    def _process_init(self, **_: Any) -> None:
        # Lead our own group (not a session: the worker still owns us, and pdeathsig still kills
        # us with it) so that a cancel can kill the task's helpers with it, and never the worker.
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)

    def _process_shutdown(self, **_: Any) -> None:
        if self._backends is not None:
            with contextlib.suppress(Exception):
                self._backends.close()
            self._backends = None

    def backends(self) -> Backends:
        if self._backends is None:
            from mlsmith.core.backends import build_backends

            self._backends = build_backends(self.settings)
        return self._backends

    # -- the task ---------------------------------------------------------------------------

    def run_task(
        self,
        target: str,
        kwargs: dict[str, Any],
        *,
        task_id: str,
        generation: int,
    ) -> None:
        from celery.exceptions import Reject

        records, opts = self.records, self.opts
        worker = f"{socket.gethostname()}:{os.getpid()}"
        if records.start(task_id, generation, opts.max_deliveries, worker) != "run":
            return  # cancelled, superseded, or delivered too often: nothing to run
        stop = threading.Event()
        done = threading.Event()
        killer = _Killer(self, task_id, generation)
        beater = threading.Thread(
            target=self._beat,
            args=(task_id, generation, done, lambda: killer.arm(stop)),
            name="mlsmith-beat",
            daemon=True,
        )
        beater.start()
        previous = signal.signal(signal.SIGTERM, lambda *_: killer.arm(stop))
        state, error = "done", None
        try:
            fn = resolve_task(target, opts.task_prefixes)
            with cancellation.scope(stop):
                fn(backends=self.backends(), **validate_kwargs(kwargs))
        except Cancelled:
            state = "cancelled"
        except Exception as exc:
            state, error = "failed", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        finally:
            signal.signal(signal.SIGTERM, previous)
            killer.disarm()
            done.set()
        if stop.is_set() and not _cancel_asked(records, task_id):
            # SIGTERM without a cancel: the worker is stopping or lost its broker. Give the task
            # back; the broker delivers it again (to this worker or another one).
            records.hand_back(task_id, generation, "its worker stopped; delivered again")
            raise Reject("worker stopping", requeue=True)
        records.end(task_id, generation, state, error)

    def _beat(
        self, task_id: str, generation: int, done: threading.Event, on_cancel: Callable[[], None]
    ) -> None:
        while not done.wait(self.opts.beat_s):
            try:
                if self.records.beat(task_id, generation) == "cancel":
                    on_cancel()  # normally the revoke's SIGTERM got here first; then a no-op
            except Exception:  # a missed beat is not fatal; a long silence is (status says so)
                log.warning("heartbeat of task %s failed", task_id, exc_info=True)


_CONTEXT: WorkerContext | None = None  # set in the worker's main process by ``install``


def _request_class() -> type:
    from celery.worker.request import Request

    class TimeLimitRequest(Request):
        """The worker's main process handles a hard time limit: kill the task with its helpers
        (its pool process leads their group) and record it as failed, for it never will."""

        def on_timeout(self, soft: bool, timeout: float) -> None:
            if not soft:
                pid = self.worker_pid
                if pid and _own_group(pid):
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
                ctx, kw = _CONTEXT, self.kwargs or {}
                if ctx is not None and "task_id" in kw:
                    with contextlib.suppress(Exception):  # the record must not break the worker
                        ctx.records.end(
                            kw["task_id"],
                            int(kw.get("generation", 1)),
                            "failed",
                            f"the task exceeded its hard time limit ({timeout:g} s)",
                        )
            super().on_timeout(soft, timeout)

    return TimeLimitRequest


def _own_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


def __getattr__(name: str) -> Any:
    # Celery imports the Request class by name; it is built on demand so that importing this
    # module never imports Celery.
    if name == "TimeLimitRequest":
        return _request_class()
    raise AttributeError(name)


class _Killer:
    """On SIGTERM: ask the task to stop, and kill it with its helpers if it has not after the grace."""

    def __init__(self, ctx: WorkerContext, task_id: str, generation: int) -> None:
        self._ctx, self._task_id, self._gen = ctx, task_id, generation
        self._timer: threading.Timer | None = None
        self._disarmed = False
        # Reentrant: the SIGTERM handler may interrupt the main thread inside arm/disarm.
        self._lock = threading.RLock()

    def arm(self, stop: threading.Event) -> None:
        with self._lock:
            if self._disarmed:  # the task already ended: nothing to stop
                return
            stop.set()
            if self._timer is None:
                self._timer = threading.Timer(self._ctx.opts.grace_s, self._kill)
                self._timer.daemon = True
                self._timer.start()

    def disarm(self) -> None:
        with self._lock:
            self._disarmed = True
            if self._timer is not None:
                self._timer.cancel()

    def _kill(self) -> None:
        records = self._ctx.records
        with contextlib.suppress(Exception):  # the kill matters more than the record
            if _cancel_asked(records, self._task_id):
                records.end(self._task_id, self._gen, "cancelled", None)
            else:
                records.hand_back(self._task_id, self._gen, "its worker stopped; delivered again")
        if os.getpgid(0) == os.getpid():  # our own group: the task, its helpers, nothing else
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def _cancel_asked(records: StatusRecords, task_id: str) -> bool:
    rec = records.get(task_id)
    return rec is not None and rec.cancel
