"""``SqsJobQueue`` (kind ``sqs``): jobs delivered by Amazon SQS, their records in the metadata DB.

``MLSMITH_QUEUE_URL=sqs://mlsmith-jobs`` with options ``endpoint_url``, ``region``,
``dead_letter_queue`` (default ``<name>_dlq``), ``wait_time_s`` (long polling, 0..20, default 1)
and ``create`` (create missing queues: dev and tests; production queues come from Terraform).

How the port maps onto SQS:

- one standard queue per job kind, ``<name>-<kind>``: SQS cannot filter on receive, and filtering
  by putting foreign messages back (visibility 0) would count a receive against every job a worker
  skips, so its attempts and its redrive would depend on which workers happen to poll;
- ``claim`` = ReceiveMessage (one message, VisibilityTimeout = the lease rounded *up* to whole
  seconds, WaitTimeSeconds = ``wait_time_s``); the receipt handle is the lease token and
  ApproximateReceiveCount the attempt number;
- ``heartbeat`` = ChangeMessageVisibility; ``ack`` = DeleteMessage; ``nack`` = ChangeMessageVisibility
  0 while attempts remain, else the message is sent to the dead-letter queue and deleted;
- redrive: a message received more often than its job's ``max_attempts`` (leases that kept
  expiring) is moved to the dead-letter queue by the claim that sees it. The adapter does this
  rather than a RedrivePolicy because ``max_attempts`` is per job while ``maxReceiveCount`` is per
  queue, and SQS moving a message behind the adapter's back would leave its record ``leased``.

SQS alone cannot serve the rest of the port: it has no lookup by id (``get``), no deduplication
beyond FIFO queues' 5-minute window (idempotent ``enqueue``), and it accepts a stale receipt handle
for DeleteMessage (a worker that lost its lease could still ack). So each job's record (status,
attempts, lease token, last error, kind, payload) lives in the ``jobs`` table of the metadata
database (``ctx.built["db"]`` must expose a SQLAlchemy ``engine``, the :class:`HasSqlEngine`
capability), and every state change is a compare-and-set on that record *before* the SQS call.
SQS is the delivery and lease timer; the record is the truth. Leftovers are cleaned up when they
are next received: a message whose record is done, dead or missing is deleted.

Limits (SQS, not this adapter): standard queues order messages best effort only (moto and a quiet
queue deliver oldest first; a busy real queue may not), leases are whole seconds, up to 12 hours;
without ``create`` messages are kept for the queue's retention period (``create`` sets 14 days).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlsmith.backends.local.db.errors import db_errors, translate
from mlsmith.backends.local.db.tables import jobs
from mlsmith.core.backends import BuildContext
from mlsmith.core.domain import Job, JobStatus, utcnow
from mlsmith.core.errors import BackendUnavailable, ConfigError, InvalidInput, NotFound

log = logging.getLogger(__name__)

LEASE_EXPIRED = "lease expired"
MAX_VISIBILITY_S = 43_200  # SQS: 12 hours
RETENTION_S = 1_209_600  # SQS maximum: 14 days
# A redelivery is trusted once the record's lease is over by this machine's clock, give or take
# this much skew between the workers' clocks.
CLOCK_SKEW_S = 1.0
_MAX_SKIPS = 25  # leftovers cleaned up per queue per claim, so a claim always returns
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_KIND = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_SETTING = "MLSMITH_QUEUE_URL"
_ACTIVE = (JobStatus.QUEUED.value, JobStatus.LEASED.value)
_COLUMNS = [jobs.c[f.name] for f in fields(Job)]


@runtime_checkable
class HasSqlEngine(Protocol):
    """Optional capability of a metadata store: its SQLAlchemy engine, with the ``jobs`` table."""

    engine: sa.Engine


class SqsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+/?$")
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z0-9]+){1,3}-\d{1,2}$")
    dead_letter_queue: str | None = Field(default=None, pattern=_NAME.pattern)
    wait_time_s: int = Field(default=1, ge=0, le=20)
    create: bool = False


def _job(row: sa.Row[Any]) -> Job:
    values = dict(row._mapping)
    values["status"] = JobStatus(values["status"])
    return Job(**values)


def visibility_s(lease_s: float) -> int:
    """SQS visibility timeouts are whole seconds: round up, so a lease is never shorter."""
    return min(MAX_VISIBILITY_S, max(1, math.ceil(lease_s)))


class SqsJobQueue:
    def __init__(
        self,
        sqs: Any,
        engine: sa.Engine,
        name: str,
        *,
        dead_letter_queue: str | None = None,
        wait_time_s: int = 1,
        create: bool = False,
    ) -> None:
        if not _NAME.match(name):
            raise ConfigError(f"{_SETTING}: {name!r} is not an SQS queue name", setting=_SETTING)
        self._sqs = sqs
        self._engine = engine
        self._name = name
        self._dlq_name = dead_letter_queue or f"{name}_dlq"
        self._wait_s = wait_time_s
        self._create = create
        self._urls: dict[str, str] = {}

    # -- SQS plumbing ------------------------------------------------------------------------

    def _queue_name(self, kind: str) -> str:
        return f"{self._name}-{kind}"

    def _url(self, queue_name: str, *, create: bool) -> str | None:
        url = self._urls.get(queue_name)
        if url is not None:
            return url
        sqs = self._sqs
        try:
            url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            if not create:
                return None
            attributes = {"MessageRetentionPeriod": str(RETENTION_S)}
            url = self._call(sqs.create_queue, QueueName=queue_name, Attributes=attributes)[
                "QueueUrl"
            ]
        except Exception as exc:
            raise self._unavailable(exc) from exc
        self._urls[queue_name] = url
        return url

    def _required_url(self, queue_name: str) -> str:
        url = self._url(queue_name, create=self._create)
        if url is None:
            raise BackendUnavailable(
                f"SQS queue {queue_name!r} does not exist (create it, or set "
                f"MLSMITH_QUEUE_OPTIONS__CREATE=true for development)",
                queue=queue_name,
            )
        return url

    def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except Exception as exc:
            raise self._unavailable(exc) from exc

    @staticmethod
    def _unavailable(exc: Exception) -> BackendUnavailable:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        return BackendUnavailable(f"SQS request failed ({code})", error=code)

    def _quietly(self, method: Any, **kwargs: Any) -> bool:
        """An SQS call whose failure only leaves a leftover the next claim cleans up."""
        try:
            method(**kwargs)
            return True
        except Exception as exc:
            log.warning("SQS %s failed: %s", getattr(method, "__name__", method), exc)
            return False

    # -- port --------------------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        max_attempts: int = 3,
        job_id: str | None = None,
    ) -> Job:
        if not _KIND.match(kind) or len(self._queue_name(kind)) > 80:
            raise InvalidInput(
                f"job kind {kind!r}: letters, digits and _ only (it names an SQS queue)", kind=kind
            )
        job = Job(kind=kind, payload=payload, max_attempts=max_attempts)
        if job_id is not None:
            job.id = job_id
        try:
            body = json.dumps({"job_id": job.id, "kind": kind, "payload": payload})
        except (TypeError, ValueError) as exc:
            raise InvalidInput("job payload must be JSON-serialisable") from exc
        url = self._required_url(self._queue_name(kind))
        values = {c.name: getattr(job, c.name) for c in _COLUMNS}
        values["status"] = job.status.value
        try:
            with self._engine.begin() as conn:
                conn.execute(jobs.insert().values(**values))
        except sa.exc.SQLAlchemyError as exc:
            if isinstance(exc, sa.exc.IntegrityError) and job_id is not None:
                return self.get(job_id)  # already enqueued: the first one stands, none is sent
            raise translate(exc) from exc
        try:
            self._call(self._sqs.send_message, QueueUrl=url, MessageBody=body)
        except BackendUnavailable:
            # Not delivered: take the record back so that enqueueing again really enqueues.
            with db_errors(), self._engine.begin() as conn:
                conn.execute(jobs.delete().where(jobs.c.id == job.id))
            raise
        return self.get(job.id)

    def claim(self, lease_s: float, kinds: tuple[str, ...] | None = None) -> Job | None:
        if kinds is None:
            kinds = self._pending_kinds()
        urls = [
            url
            for kind in kinds
            if _KIND.match(kind) and (url := self._url(self._queue_name(kind), create=False))
        ]
        if not urls:
            return None
        wait = max(1, self._wait_s // len(urls)) if self._wait_s else 0
        for url in urls:
            job = self._claim_from(url, visibility_s(lease_s), wait)
            if job is not None:
                return job
        return None

    def _pending_kinds(self) -> tuple[str, ...]:
        """Kinds with queued or leased jobs, the one with the oldest such job first."""
        stmt = (
            sa.select(jobs.c.kind)
            .where(jobs.c.status.in_(_ACTIVE))
            .group_by(jobs.c.kind)
            .order_by(sa.func.min(jobs.c.seq))
        )
        with db_errors(), self._engine.connect() as conn:
            return tuple(conn.execute(stmt).scalars())

    def _claim_from(self, url: str, lease_s: int, wait_s: int) -> Job | None:
        for _ in range(_MAX_SKIPS):
            started = utcnow()
            got = self._call(
                self._sqs.receive_message,
                QueueUrl=url,
                MaxNumberOfMessages=1,
                VisibilityTimeout=lease_s,
                WaitTimeSeconds=wait_s,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
            messages = got.get("Messages") or []
            if not messages:
                return None
            job = self._lease(url, messages[0], started, lease_s)
            if job is not None:
                return job
            wait_s = 0  # something was there: look again at once
        return None

    def _lease(
        self, url: str, message: dict[str, Any], started: datetime, lease_s: int
    ) -> Job | None:
        """Take the record's lease for a received message, or clean the message up; None when the
        message was not a claimable job."""
        handle = message["ReceiptHandle"]
        try:
            job_id = str(json.loads(message["Body"])["job_id"])
            count = int(message["Attributes"]["ApproximateReceiveCount"])
        except (ValueError, KeyError, TypeError):
            log.warning("deleting a message that is not an mlsmith job from %s", url)
            self._quietly(self._sqs.delete_message, QueueUrl=url, ReceiptHandle=handle)
            return None
        now = utcnow()
        with db_errors(), self._engine.begin() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(jobs.c.id == job_id)).first()
            if row is None or row.status == JobStatus.DONE.value:
                leftover = True
            else:
                leftover = False
                # SQS redelivered the message, so the lease it timed is over; the record agrees
                # unless this is a duplicate delivery of a message someone still holds.
                claimable = sa.and_(
                    jobs.c.id == job_id,
                    jobs.c.status.in_(_ACTIVE),
                    jobs.c.attempts < count,
                    sa.or_(
                        jobs.c.status == JobStatus.QUEUED.value,
                        jobs.c.lease_until <= now + timedelta(seconds=CLOCK_SKEW_S),
                    ),
                )
                if row.status == JobStatus.DEAD.value:
                    updated = None
                elif count > row.max_attempts:
                    updated = conn.execute(
                        jobs.update()
                        .where(claimable)
                        .values(
                            status=JobStatus.DEAD.value,
                            lease_token=None,
                            lease_until=None,
                            last_error=sa.func.coalesce(jobs.c.last_error, LEASE_EXPIRED),
                        )
                        .returning(*_COLUMNS)
                    ).first()
                    if updated is None:
                        return None  # someone else holds it: leave the message alone
                else:
                    # The lease ends when SQS makes the message visible again: no earlier than
                    # ``lease_s`` after the receive started.
                    updated = conn.execute(
                        jobs.update()
                        .where(claimable)
                        .values(
                            status=JobStatus.LEASED.value,
                            attempts=count,
                            lease_token=handle,
                            lease_until=started + timedelta(seconds=lease_s),
                        )
                        .returning(*_COLUMNS)
                    ).first()
                    if updated is None:
                        return None  # a duplicate delivery of a held message: leave it alone
                    return _job(updated)
        if leftover:
            self._quietly(self._sqs.delete_message, QueueUrl=url, ReceiptHandle=handle)
        else:  # dead: attempts exhausted by expired leases (or a crash mid-nack)
            self._dead_letter(url, message["Body"], handle)
        return None

    def _dead_letter(self, url: str, body: str, handle: str) -> None:
        dlq = self._url(self._dlq_name, create=self._create)
        if dlq is None:
            log.error("dead-letter queue %r missing; dropping dead job message", self._dlq_name)
        elif not self._quietly(self._sqs.send_message, QueueUrl=dlq, MessageBody=body):
            return  # keep it where it is: the next claim moves it
        self._quietly(self._sqs.delete_message, QueueUrl=url, ReceiptHandle=handle)

    @staticmethod
    def _held(job_id: str, lease_token: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            jobs.c.id == job_id,
            jobs.c.lease_token == lease_token,
            jobs.c.status == JobStatus.LEASED.value,
        )

    def heartbeat(self, job_id: str, lease_token: str, lease_s: float) -> bool:
        seconds = visibility_s(lease_s)
        started = utcnow()
        with db_errors(), self._engine.begin() as conn:
            kind = conn.execute(
                sa.select(jobs.c.kind).where(self._held(job_id, lease_token))
            ).scalar_one_or_none()
        if kind is None:
            return False
        url = self._url(self._queue_name(kind), create=False)
        if url is None or not self._quietly(
            self._sqs.change_message_visibility,
            QueueUrl=url,
            ReceiptHandle=lease_token,
            VisibilityTimeout=seconds,
        ):
            return False  # the message is no longer in flight under this handle: lease lost
        stmt = (
            jobs.update()
            .where(self._held(job_id, lease_token))
            .values(lease_until=started + timedelta(seconds=seconds))
        )
        with db_errors(), self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def ack(self, job_id: str, lease_token: str) -> bool:
        stmt = (
            jobs.update()
            .where(self._held(job_id, lease_token))
            .values(status=JobStatus.DONE.value, lease_token=None, lease_until=None)
            .returning(jobs.c.kind)
        )
        with db_errors(), self._engine.begin() as conn:
            kind = conn.execute(stmt).scalar_one_or_none()
        if kind is None:
            return False
        if url := self._url(self._queue_name(kind), create=False):
            self._quietly(self._sqs.delete_message, QueueUrl=url, ReceiptHandle=lease_token)
        return True

    def nack(self, job_id: str, lease_token: str, error: str, *, retry: bool = True) -> bool:
        requeue = sa.and_(sa.true() if retry else sa.false(), jobs.c.attempts < jobs.c.max_attempts)
        stmt = (
            jobs.update()
            .where(self._held(job_id, lease_token))
            .values(
                status=sa.case((requeue, JobStatus.QUEUED.value), else_=JobStatus.DEAD.value),
                lease_token=None,
                lease_until=None,
                last_error=error,
            )
            .returning(jobs.c.kind, jobs.c.status, jobs.c.payload)
        )
        with db_errors(), self._engine.begin() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return False
        url = self._url(self._queue_name(row.kind), create=False)
        if url is None:
            return True
        if row.status == JobStatus.QUEUED.value:
            self._quietly(
                self._sqs.change_message_visibility,
                QueueUrl=url,
                ReceiptHandle=lease_token,
                VisibilityTimeout=0,
            )
        else:
            body = json.dumps({"job_id": job_id, "kind": row.kind, "payload": row.payload})
            self._dead_letter(url, body, lease_token)
        return True

    def get(self, job_id: str) -> Job:
        with db_errors(), self._engine.connect() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"job {job_id} not found", id=job_id)
        return _job(row)

    def close(self) -> None:
        """The engine belongs to the metadata store; the boto3 client holds no open resources."""


def _config_error(exc: ValidationError) -> ConfigError:
    problems = "; ".join(
        f"MLSMITH_QUEUE_OPTIONS__{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
        for e in exc.errors()
    )
    return ConfigError(f"invalid SQS queue options: {problems}", setting="MLSMITH_QUEUE_OPTIONS")


def build(url: str, options: Mapping[str, Any], ctx: BuildContext) -> SqsJobQueue:
    import boto3  # lazy: choosing another queue never imports it
    from botocore.config import Config

    name = url.split("://", 1)[1].strip("/") if "://" in url else ""
    if not _NAME.match(name):
        raise ConfigError(
            f"{_SETTING}={url}: expected sqs://<queue-name> (letters, digits, - and _)",
            setting=_SETTING,
        )
    try:
        opts = SqsOptions.model_validate(dict(options))
    except ValidationError as exc:
        raise _config_error(exc) from None
    store = ctx.built.get("db")
    if not isinstance(store, HasSqlEngine):
        raise ConfigError(
            "MLSMITH_QUEUE_URL=sqs://... keeps job records (for lookups, idempotent enqueue and "
            "lease tokens) in the metadata database, which must be SQL "
            "(MLSMITH_DATABASE_URL=postgresql+psycopg://... or sqlite:///...)",
            setting=_SETTING,
        )
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        # a long poll holds the connection open for up to wait_time_s
        read_timeout=opts.wait_time_s + 10,
    )
    sqs = boto3.session.Session().client(
        "sqs", region_name=opts.region, endpoint_url=opts.endpoint_url, config=config
    )
    return SqsJobQueue(
        sqs,
        store.engine,
        name,
        dead_letter_queue=opts.dead_letter_queue,
        wait_time_s=opts.wait_time_s,
        create=opts.create,
    )
