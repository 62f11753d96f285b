"""``SqlJobQueue``: the durable ``db://`` queue, a ``jobs`` table in the metadata database.

Claims are compare-and-set inside one short transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL (concurrent claimers skip each other's rows instead of waiting), ``BEGIN IMMEDIATE`` on
SQLite (one writer at a time; FOR UPDATE is not rendered there). ack/nack/heartbeat only touch a
row whose lease token still matches, so a worker that lost its lease changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from mlsmith.backends.local.db import SqlMetadataStore
from mlsmith.backends.local.db.errors import db_errors, translate
from mlsmith.backends.local.db.tables import jobs
from mlsmith.core.backends import BuildContext
from mlsmith.core.domain import Job, JobStatus, utcnow
from mlsmith.core.errors import ConfigError, NotFound

LEASE_EXPIRED = "lease expired"
_FIELDS = [f.name for f in fields(Job)]
_JOB_COLUMNS = [jobs.c[name] for name in _FIELDS]


def _job(row: sa.Row[Any]) -> Job:
    values = dict(row._mapping)
    values["status"] = JobStatus(values["status"])
    return Job(**values)


class SqlJobQueue:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        max_attempts: int = 3,
        job_id: str | None = None,
    ) -> Job:
        job = Job(kind=kind, payload=payload, max_attempts=max_attempts)
        if job_id is not None:
            job.id = job_id
        values = {name: getattr(job, name) for name in _FIELDS}
        values["status"] = job.status.value
        try:
            with self._engine.begin() as conn:
                conn.execute(jobs.insert().values(**values))
        except sa.exc.IntegrityError as exc:
            if job_id is None:
                raise translate(exc) from exc
            return self.get(job_id)  # already enqueued (maybe by a concurrent caller): reuse it
        except sa.exc.SQLAlchemyError as exc:
            raise translate(exc) from exc
        return self.get(job.id)

    def claim(self, lease_s: float, kinds: tuple[str, ...] | None = None) -> Job | None:
        now = utcnow()
        with db_errors(), self._engine.begin() as conn:
            self._dead_letter_exhausted(conn, now)
            available = sa.or_(
                jobs.c.status == JobStatus.QUEUED.value,
                sa.and_(jobs.c.status == JobStatus.LEASED.value, jobs.c.lease_until < now),
            )
            pick = sa.select(jobs.c.seq).where(available)
            if kinds is not None:
                pick = pick.where(jobs.c.kind.in_(kinds))
            pick = pick.order_by(jobs.c.seq).limit(1).with_for_update(skip_locked=True)
            seq = conn.execute(pick).scalar_one_or_none()
            if seq is None:
                return None
            claimed = conn.execute(
                jobs.update()
                .where(jobs.c.seq == seq)
                .values(
                    status=JobStatus.LEASED.value,
                    attempts=jobs.c.attempts + 1,
                    lease_token=secrets.token_hex(16),
                    lease_until=now + timedelta(seconds=lease_s),
                )
                .returning(*_JOB_COLUMNS)
            ).one()
            return _job(claimed)

    @staticmethod
    def _dead_letter_exhausted(conn: sa.Connection, now: datetime) -> None:
        """Expired leases with no attempts left go to DEAD instead of being handed out again."""
        conn.execute(
            jobs.update()
            .where(
                jobs.c.status == JobStatus.LEASED.value,
                jobs.c.lease_until < now,
                jobs.c.attempts >= jobs.c.max_attempts,
            )
            .values(
                status=JobStatus.DEAD.value,
                lease_token=None,
                lease_until=None,
                last_error=sa.func.coalesce(jobs.c.last_error, LEASE_EXPIRED),
            )
        )

    @staticmethod
    def _held(job_id: str, lease_token: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            jobs.c.id == job_id,
            jobs.c.lease_token == lease_token,
            jobs.c.status == JobStatus.LEASED.value,
        )

    def heartbeat(self, job_id: str, lease_token: str, lease_s: float) -> bool:
        until = utcnow() + timedelta(seconds=lease_s)
        stmt = jobs.update().where(self._held(job_id, lease_token)).values(lease_until=until)
        with db_errors(), self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def ack(self, job_id: str, lease_token: str) -> bool:
        stmt = (
            jobs.update()
            .where(self._held(job_id, lease_token))
            .values(status=JobStatus.DONE.value, lease_token=None, lease_until=None)
        )
        with db_errors(), self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def nack(self, job_id: str, lease_token: str, error: str, *, retry: bool = True) -> bool:
        requeue = sa.and_(sa.true() if retry else sa.false(), jobs.c.attempts < jobs.c.max_attempts)
        stmt = (
            jobs.update()
            .where(self._held(job_id, lease_token))
            .values(
                status=sa.case(
                    (requeue, JobStatus.QUEUED.value),
                    else_=JobStatus.DEAD.value,
                ),
                lease_token=None,
                lease_until=None,
                last_error=error,
            )
        )
        with db_errors(), self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    @staticmethod
    def _get(conn: sa.Connection, job_id: str) -> Job | None:
        row = conn.execute(sa.select(*_JOB_COLUMNS).where(jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

    def get(self, job_id: str) -> Job:
        with db_errors(), self._engine.connect() as conn:
            job = self._get(conn, job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found", id=job_id)
        return job

    def close(self) -> None:
        """The engine belongs to the metadata store, which disposes of it."""


def build(url: str, options: Mapping[str, Any], ctx: BuildContext) -> SqlJobQueue:
    store = ctx.built.get("db")
    if not isinstance(store, SqlMetadataStore):
        raise ConfigError(
            "MLSMITH_QUEUE_URL=db:// keeps jobs in the metadata database, which must be SQL "
            "(MLSMITH_DATABASE_URL=sqlite:///... or postgresql+psycopg://...)",
            setting="MLSMITH_QUEUE_URL",
        )
    if options:
        raise ConfigError(
            f"MLSMITH_QUEUE_OPTIONS: the db queue takes no options (got {sorted(options)})",
            setting="MLSMITH_QUEUE_OPTIONS",
        )
    return SqlJobQueue(store.engine)
