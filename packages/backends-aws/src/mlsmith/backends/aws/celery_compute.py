"""``CeleryCompute``: tasks run on Celery workers (``MLSMITH_COMPUTE=celery``, ``mlsmith worker``).

Configure it with one URL, ``MLSMITH_COMPUTE=celery+redis://host:6379/0`` (or ``celery+amqp://...``,
``celery+sqs://``), or ``MLSMITH_COMPUTE=celery`` plus ``MLSMITH_COMPUTE_OPTIONS__BROKER_URL``.

Who runs what: the API process's worker loop (``mlsmith.core.services.worker.Worker``) still claims
jobs from the queue port, keeps their leases and settles runs; its compute is this class, which
ships each task to the broker. ``mlsmith worker`` processes consume the broker and run the task with
backends built from their own settings. So the queue port stays the one source of jobs (the DB
decides who owns a run) and Celery is only the transport to many machines.

Status: Celery's results are ignored; each task has a small status record in Redis (see
``celery_status``; the broker's Redis by default, ``status_url`` otherwise, e.g. with RabbitMQ or
SQS). A running task's record carries a heartbeat; when it stops (the worker was killed) the task
reads ``pending`` while the broker may still deliver it again (``visibility_timeout_s`` plus
``lost_after_s``), and ``failed`` after that, so the worker loop never waits forever.

Idempotency per task id (the job id, one per run): a live id cannot be submitted twice, and the
message carries the submission number, so a stale message of an earlier submission never runs.
The first submission's Celery task id is the task id itself; a later one (a resubmitted job)
appends ``~<n>``: Celery remembers revoked ids for hours and would silently drop a reused one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from mlsmith.backends.aws.celery_status import ENDED, LIVE, StatusRecords
from mlsmith.core.backends import BuildContext
from mlsmith.core.errors import AlreadyExists, BackendUnavailable, ConfigError
from mlsmith.core.ports.compute import TaskState, TaskStatus
from mlsmith.core.settings import Settings
from mlsmith.core.tasks_loader import DEFAULT_ALLOWED_PREFIXES, resolve_task, validate_kwargs

if TYPE_CHECKING:
    from celery import Celery

    from mlsmith.core.backends import Backends

SETTING = "MLSMITH_COMPUTE_OPTIONS"
_POLL_S = 0.05
_STATES = {s.value: s for s in TaskState}


class CeleryOptions(BaseModel, extra="forbid"):
    broker_url: str | None = None  # redis://, rediss://, amqp://, sqs://; or in the compute URL
    status_url: str | None = None  # Redis for the status records; default: a Redis broker
    queue: str = Field(default="mlsmith", min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    time_limit_s: float = Field(default=6 * 3600, gt=0)  # hard: the pool process is killed
    soft_time_limit_s: float | None = Field(default=None, gt=0)  # raises inside the task
    # Must exceed the hard limit (else a long task is delivered twice); default: limit + 5 min.
    visibility_timeout_s: float | None = Field(default=None, gt=0)
    max_deliveries: int = Field(default=3, ge=1)  # bounded retries of a task whose worker died
    grace_s: float = Field(default=0.5, ge=0, le=1.0)  # SIGTERM -> SIGKILL of a cancelled task
    beat_s: float = Field(default=2.0, gt=0)
    lost_after_s: float = Field(default=30.0, gt=0)  # heartbeat silence that means "worker lost"
    status_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    status_prefix: str = "mlsmith:celery:"
    task_prefixes: tuple[str, ...] = DEFAULT_ALLOWED_PREFIXES
    close_timeout_s: float = Field(default=10.0, ge=0)
    max_tasks_per_child: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _limits(self) -> CeleryOptions:
        if self.soft_time_limit_s is not None and self.soft_time_limit_s >= self.time_limit_s:
            raise ValueError("soft_time_limit_s must be below time_limit_s")
        if self.visibility_timeout_s is not None and self.visibility_timeout_s <= self.time_limit_s:
            raise ValueError("visibility_timeout_s must exceed time_limit_s")
        if self.lost_after_s <= 2 * self.beat_s:
            raise ValueError("lost_after_s must exceed two heartbeats (beat_s)")
        return self

    @property
    def effective_visibility_timeout_s(self) -> float:
        return self.visibility_timeout_s or self.time_limit_s + 300


class CeleryCompute:
    def __init__(
        self,
        app: Celery,
        records: StatusRecords,
        opts: CeleryOptions,
        *,
        broker_url: str,
        settings: Settings,
    ) -> None:
        self._app = app
        self._records = records
        self._opts = opts
        self._broker_url = broker_url
        self._settings = settings
        self._lock = threading.Lock()
        self._closed = False
        self._submitted: dict[str, int] = {}  # task id -> generation sent by this instance

    def bind(self, backends: Backends) -> None:
        """Nothing to keep: Celery workers build their own backends from their settings."""

    def submit(self, task_id: str, target: str, kwargs: dict[str, Any]) -> None:
        # Checked here too, so that a bad task fails the caller now rather than a worker later.
        resolve_task(target, self._opts.task_prefixes)
        clean = validate_kwargs(kwargs)
        with self._lock:
            if self._closed:
                raise BackendUnavailable("compute is closed")
        gen = self._records.submit(task_id)
        if gen is None:
            raise AlreadyExists(f"task {task_id} is still pending or running", task_id=task_id)
        try:
            self._app.send_task(
                "mlsmith.run_task",
                args=[target, clean],
                kwargs={"task_id": task_id, "generation": gen},
                task_id=celery_task_id(task_id, gen),
                queue=self._opts.queue,
            )
        except Exception as exc:  # kombu raises many kinds: the broker is what failed
            self._records.end(task_id, gen, "failed", f"could not reach the broker: {exc}")
            raise BackendUnavailable(f"celery broker: {exc}") from exc
        with self._lock:
            self._submitted[task_id] = gen

    def cancel(self, task_id: str) -> bool:
        outcome, gen = self._records.cancel(task_id)
        if outcome == "no":
            return False
        if outcome != "again":
            # SIGTERM to the pool process running it (a cooperative stop, then a kill after
            # grace_s); a worker that receives it later drops it (the record refuses it anyway).
            try:
                self._app.control.revoke(
                    celery_task_id(task_id, gen), terminate=True, signal="SIGTERM"
                )
            except Exception as exc:
                # The task's own heartbeat sees the cancel flag too: it stops within beat_s.
                raise BackendUnavailable(f"celery broker: {exc}") from exc
        return True

    def status(self, task_id: str) -> TaskStatus:
        rec = self._records.get(task_id)
        if rec is None:
            return TaskStatus(TaskState.UNKNOWN)
        if rec.state in ENDED:
            return TaskStatus(_STATES[rec.state], rec.error or None)
        lost_since = None
        if rec.state == "running" and rec.beat is not None:
            if rec.now - rec.beat > self._opts.lost_after_s:
                lost_since = rec.beat
        elif rec.state == "pending" and rec.lost_at is not None:
            lost_since = rec.lost_at
        if lost_since is None:
            return TaskStatus(_STATES[rec.state] if rec.state in LIVE else TaskState.UNKNOWN)
        # Its worker is gone. The broker delivers the task again within the visibility timeout
        # (at once with RabbitMQ or when only the pool process died); until then it is pending.
        if rec.cancel:
            return TaskStatus(TaskState.CANCELLED)
        # Redelivery comes within the visibility timeout plus a restore sweep (Redis, SQS).
        window = self._opts.effective_visibility_timeout_s + self._opts.lost_after_s + 60
        if rec.now - lost_since > window:
            return TaskStatus(
                TaskState.FAILED,
                f"the task's worker was lost and the task was not delivered again within {window:.0f}s",
            )
        return TaskStatus(TaskState.PENDING)

    def wait(self, task_id: str, timeout_s: float | None = None) -> TaskStatus:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            status = self.status(task_id)
            if status.state not in (TaskState.PENDING, TaskState.RUNNING):
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status
            time.sleep(
                _POLL_S if deadline is None else min(_POLL_S, max(0.0, deadline - time.monotonic()))
            )

    def close(self) -> None:
        """Refuse new tasks and cancel the live ones this instance submitted. (Celery workers
        keep running: ``mlsmith worker`` processes have their own life.) ``status``/``wait``
        still answer afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            mine = list(self._submitted)
        live = [t for t in mine if self._live(t)]
        for task_id in live:
            with contextlib.suppress(BackendUnavailable):  # closing must survive a broker outage
                self.cancel(task_id)
        deadline = time.monotonic() + self._opts.close_timeout_s
        for task_id in live:
            self.wait(task_id, max(0.0, deadline - time.monotonic()))

    def _live(self, task_id: str) -> bool:
        try:
            return self.status(task_id).state in (TaskState.PENDING, TaskState.RUNNING)
        except BackendUnavailable:
            return False

    # -- the worker side ----------------------------------------------------------------------

    def run_worker(
        self,
        *,
        concurrency: int | None = None,
        queues: Sequence[str] | None = None,
        hostname: str | None = None,
        loglevel: str = "INFO",
    ) -> None:
        """Run a Celery worker consuming this compute's queue (blocks; ``mlsmith worker``)."""
        from mlsmith.backends.aws.celery_app import WorkerContext, make_app

        ctx = WorkerContext(self._opts, self._settings, self._records)
        app = make_app(self._opts, self._broker_url, worker=ctx)
        if self._opts.max_tasks_per_child:
            app.conf.worker_max_tasks_per_child = self._opts.max_tasks_per_child
        argv = [
            "worker",
            f"--concurrency={concurrency or self._settings.workers}",
            f"--queues={','.join(queues or [self._opts.queue])}",
            f"--loglevel={loglevel}",
            "--pool=prefork",  # only a pool process can be terminated by a cancel
            "--without-gossip",
        ]
        if hostname:
            argv.append(f"--hostname={hostname}")
        app.worker_main(argv)


def celery_task_id(task_id: str, generation: int) -> str:
    return task_id if generation <= 1 else f"{task_id}~{generation}"


def build(url: str, options: Mapping[str, Any], ctx: BuildContext) -> CeleryCompute:
    from mlsmith.backends.aws.celery_app import make_app

    try:
        opts = CeleryOptions.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{SETTING}: {problems}", setting=SETTING) from None
    broker = _broker_from(url) or opts.broker_url
    if not broker:
        raise ConfigError(
            "MLSMITH_COMPUTE=celery needs a broker: MLSMITH_COMPUTE=celery+redis://host:6379/0 "
            "or MLSMITH_COMPUTE_OPTIONS__BROKER_URL",
            setting="MLSMITH_COMPUTE",
        )
    status_url = opts.status_url or (
        broker if broker.split("://", 1)[0] in ("redis", "rediss") else None
    )
    if not status_url:
        raise ConfigError(
            f"{SETTING}__STATUS_URL: a Redis URL for task status is needed when the broker is not "
            "Redis",
            setting=f"{SETTING}__STATUS_URL",
        )
    # Neither constructor connects: the first submit (or the worker) does.
    records = StatusRecords.from_url(status_url, opts.status_prefix, opts.status_ttl_s)
    return CeleryCompute(
        make_app(opts, broker), records, opts, broker_url=broker, settings=ctx.settings
    )


def _broker_from(url: str) -> str | None:
    """``celery+redis://h:6379/0`` -> ``redis://h:6379/0``; plain ``celery`` -> None."""
    scheme, sep, rest = url.partition("://")
    if not sep or "+" not in scheme:
        return None
    return f"{scheme.split('+', 1)[1]}://{rest}"
