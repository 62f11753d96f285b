"""Queue port: durable jobs with leases, bounded retries and a dead-letter state.

Semantics every adapter must honour (the contract suite checks them):
- ``claim`` hands a job to exactly one caller, even under concurrent claims;
- a claimed job whose lease expires without ack is claimable again (attempts + 1);
- a job claimed ``max_attempts`` times and still not acked goes to ``DEAD`` instead of being handed
  out again; ``nack(retry=True)`` re-queues until the cap, then dead-letters;
- ``ack``/``nack``/``heartbeat`` with a stale lease token (someone else re-claimed) return False and
  change nothing.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from mlsmith.core.domain import Job


@runtime_checkable
class JobQueue(Protocol):
    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        max_attempts: int = 3,
        job_id: str | None = None,
    ) -> Job:
        """``job_id`` makes enqueueing idempotent: the same id twice returns the existing job."""
        ...

    def claim(self, lease_s: float, kinds: tuple[str, ...] | None = None) -> Job | None:
        """Lease the oldest available job (optionally of ``kinds``), or None."""
        ...

    def heartbeat(self, job_id: str, lease_token: str, lease_s: float) -> bool:
        """Extend a held lease; False when the lease was lost."""
        ...

    def ack(self, job_id: str, lease_token: str) -> bool: ...

    def nack(self, job_id: str, lease_token: str, error: str, *, retry: bool = True) -> bool:
        """Release a failed job: back to QUEUED while attempts remain and ``retry``, else DEAD."""
        ...

    def get(self, job_id: str) -> Job:
        """Raises NotFound."""
        ...

    def close(self) -> None: ...
