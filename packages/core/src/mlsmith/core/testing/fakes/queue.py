"""``InMemoryJobQueue``: the queue port in a dict under one lock, for core unit tests.

Same lease rules as the durable adapters: every claim bumps ``attempts`` and issues a new token;
an expired lease is claimable again unless the attempts are used up, in which case the job is
dead-lettered instead.
"""

from __future__ import annotations

import copy
import secrets
import threading
from datetime import timedelta
from typing import Any

from mlsmith.core.domain import Job, JobStatus, utcnow
from mlsmith.core.errors import NotFound

LEASE_EXPIRED = "lease expired"


class InMemoryJobQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}  # insertion order is FIFO order

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        max_attempts: int = 3,
        job_id: str | None = None,
    ) -> Job:
        with self._lock:
            if job_id is not None and job_id in self._jobs:
                return copy.deepcopy(self._jobs[job_id])
            job = Job(kind=kind, payload=copy.deepcopy(payload), max_attempts=max_attempts)
            if job_id is not None:
                job.id = job_id
            self._jobs[job.id] = job
            return copy.deepcopy(job)

    def claim(self, lease_s: float, kinds: tuple[str, ...] | None = None) -> Job | None:
        with self._lock:
            now = utcnow()
            for job in self._jobs.values():
                lease_until = job.lease_until
                expired = job.status is JobStatus.LEASED and lease_until is not None
                expired = expired and lease_until < now
                if expired and job.attempts >= job.max_attempts:
                    job.status, job.lease_token, job.lease_until = JobStatus.DEAD, None, None
                    job.last_error = job.last_error or LEASE_EXPIRED
                    continue
                if not (job.status is JobStatus.QUEUED or expired):
                    continue
                if kinds is not None and job.kind not in kinds:
                    continue
                job.status = JobStatus.LEASED
                job.attempts += 1
                job.lease_token = secrets.token_hex(16)
                job.lease_until = now + timedelta(seconds=lease_s)
                return copy.deepcopy(job)
            return None

    def _held(self, job_id: str, lease_token: str) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None or job.status is not JobStatus.LEASED or job.lease_token != lease_token:
            return None
        return job

    def heartbeat(self, job_id: str, lease_token: str, lease_s: float) -> bool:
        with self._lock:
            job = self._held(job_id, lease_token)
            if job is None:
                return False
            job.lease_until = utcnow() + timedelta(seconds=lease_s)
            return True

    def ack(self, job_id: str, lease_token: str) -> bool:
        with self._lock:
            job = self._held(job_id, lease_token)
            if job is None:
                return False
            job.status, job.lease_token, job.lease_until = JobStatus.DONE, None, None
            return True

    def nack(self, job_id: str, lease_token: str, error: str, *, retry: bool = True) -> bool:
        with self._lock:
            job = self._held(job_id, lease_token)
            if job is None:
                return False
            again = retry and job.attempts < job.max_attempts
            job.status = JobStatus.QUEUED if again else JobStatus.DEAD
            job.lease_token, job.lease_until, job.last_error = None, None, error
            return True

    def get(self, job_id: str) -> Job:
        with self._lock:
            if job_id not in self._jobs:
                raise NotFound(f"job {job_id} not found", id=job_id)
            return copy.deepcopy(self._jobs[job_id])

    def close(self) -> None:
        """Nothing to release."""
