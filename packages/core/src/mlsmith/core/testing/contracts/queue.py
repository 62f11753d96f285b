"""Contract suite of the queue port (``ports/queue.py``): every JobQueue must pass it.

Subclass with ``__test__ = True`` and a ``queue`` fixture returning an empty JobQueue. A
``make_queue`` fixture (a callable returning another handle on the *same* underlying store) is
optional; without one, the suite reuses ``queue`` where a second worker is needed.

Leases are short (``LEASE``) and expiry is waited out with sleeps slightly longer than the lease;
no test asserts elapsed time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from mlsmith.core.domain import JobStatus
from mlsmith.core.errors import NotFound
from mlsmith.core.ports.queue import JobQueue

LEASE = 0.5  # short, yet long enough that a busy CI box does not expire it by accident
LONG_LEASE = 60.0


def wait_out(lease: float = LEASE) -> None:
    time.sleep(lease + 0.3)


class JobQueueContract:
    __test__ = False
    # Lease of the short-lease tests; an adapter whose leases are whole seconds (SQS visibility
    # timeouts) overrides it. Expiry is waited out with ``wait_out(self.lease_s)``.
    lease_s: float = LEASE

    @pytest.fixture
    def other(self, request: pytest.FixtureRequest, queue: JobQueue) -> JobQueue:
        """A second handle on the same jobs (another worker), when the adapter offers one."""
        try:
            make: Callable[[], JobQueue] = request.getfixturevalue("make_queue")
        except pytest.FixtureLookupError:
            return queue
        return make()

    # -- enqueue / get -------------------------------------------------------------------------

    def test_enqueued_job_round_trips(self, queue: JobQueue) -> None:
        payload = {"run_id": "run_1", "nested": {"a": [1, 2.5, None, "x"]}}
        job = queue.enqueue("train", payload, max_attempts=5)
        got = queue.get(job.id)
        assert (got.kind, got.payload, got.max_attempts) == ("train", payload, 5)
        assert (got.status, got.attempts, got.lease_token) == (JobStatus.QUEUED, 0, None)
        assert got.created_at.utcoffset() == timedelta(0)

    def test_get_of_an_unknown_job_raises_not_found(self, queue: JobQueue) -> None:
        with pytest.raises(NotFound):
            queue.get("job_missing")

    def test_enqueue_with_the_same_job_id_is_idempotent(self, queue: JobQueue) -> None:
        first = queue.enqueue("train", {"n": 1}, job_id="job_fixed")
        again = queue.enqueue("train", {"n": 2}, job_id="job_fixed")
        assert again.id == first.id == "job_fixed"
        assert again.payload == {"n": 1}
        assert queue.claim(self.lease_s) is not None
        assert queue.claim(self.lease_s) is None  # only one job exists

    def test_returned_jobs_are_copies(self, queue: JobQueue) -> None:
        job = queue.enqueue("train", {"n": 1})
        job.payload["n"] = 2
        job.status = JobStatus.DONE
        got = queue.get(job.id)
        assert (got.payload, got.status) == ({"n": 1}, JobStatus.QUEUED)

    # -- claim ---------------------------------------------------------------------------------

    def test_claim_on_an_empty_queue_returns_none(self, queue: JobQueue) -> None:
        assert queue.claim(self.lease_s) is None

    def test_claim_hands_out_the_oldest_job_first(self, queue: JobQueue) -> None:
        ids = [queue.enqueue("train", {"i": i}).id for i in range(5)]
        claimed = [queue.claim(LONG_LEASE) for _ in range(5)]
        assert [j.id for j in claimed if j] == ids
        assert queue.claim(LONG_LEASE) is None

    def test_claim_leases_the_job_with_a_token(self, queue: JobQueue) -> None:
        queue.enqueue("train", {})
        job = queue.claim(LONG_LEASE)
        assert job is not None
        assert (job.status, job.attempts) == (JobStatus.LEASED, 1)
        assert job.lease_token
        assert job.lease_until is not None and job.lease_until.utcoffset() == timedelta(0)
        stored = queue.get(job.id)
        assert (stored.status, stored.lease_token) == (JobStatus.LEASED, job.lease_token)

    def test_claim_filters_by_kind(self, queue: JobQueue) -> None:
        train = queue.enqueue("train", {})
        eda = queue.enqueue("eda", {})
        assert queue.claim(LONG_LEASE, kinds=("report",)) is None
        got = queue.claim(LONG_LEASE, kinds=("eda", "report"))
        assert got is not None and got.id == eda.id
        got = queue.claim(LONG_LEASE, kinds=("train",))
        assert got is not None and got.id == train.id

    def test_concurrent_claims_hand_each_job_out_exactly_once(
        self, queue: JobQueue, other: JobQueue
    ) -> None:
        ids = {queue.enqueue("train", {"i": i}).id for i in range(20)}
        handles = [queue, other]
        barrier = threading.Barrier(8)

        def worker(i: int) -> list[str]:
            q = handles[i % 2]
            barrier.wait()
            got: list[str] = []
            while (job := q.claim(LONG_LEASE)) is not None:
                got.append(job.id)
            return got

        with ThreadPoolExecutor(max_workers=8) as pool:
            claimed = [jid for ids_ in pool.map(worker, range(8)) for jid in ids_]
        assert sorted(claimed) == sorted(ids)  # every job, none twice
        assert {queue.get(j).attempts for j in ids} == {1}

    # -- leases --------------------------------------------------------------------------------

    def test_expired_lease_makes_the_job_claimable_again(
        self, queue: JobQueue, other: JobQueue
    ) -> None:
        job = queue.enqueue("train", {})
        first = queue.claim(self.lease_s)
        assert first is not None
        assert other.claim(self.lease_s) is None  # still leased
        wait_out(self.lease_s)
        second = other.claim(LONG_LEASE)
        assert second is not None and second.id == job.id
        assert second.attempts == 2
        assert second.lease_token != first.lease_token

    def test_stale_token_cannot_ack_nack_or_heartbeat(
        self, queue: JobQueue, other: JobQueue
    ) -> None:
        queue.enqueue("train", {})
        first = queue.claim(self.lease_s)
        assert first is not None and first.lease_token
        wait_out(self.lease_s)
        second = other.claim(LONG_LEASE)
        assert second is not None and second.lease_token
        assert queue.ack(first.id, first.lease_token) is False
        assert queue.nack(first.id, first.lease_token, "late") is False
        assert queue.heartbeat(first.id, first.lease_token, LONG_LEASE) is False
        stored = queue.get(first.id)
        assert (stored.status, stored.lease_token, stored.last_error) == (
            JobStatus.LEASED,
            second.lease_token,
            None,
        )
        assert other.ack(second.id, second.lease_token) is True

    def test_wrong_token_or_unknown_job_changes_nothing(self, queue: JobQueue) -> None:
        queue.enqueue("train", {})
        job = queue.claim(LONG_LEASE)
        assert job is not None
        assert queue.ack(job.id, "not-the-token") is False
        assert queue.ack("job_missing", "tok") is False
        assert queue.heartbeat("job_missing", "tok", self.lease_s) is False
        assert queue.nack("job_missing", "tok", "e") is False
        assert queue.get(job.id).status is JobStatus.LEASED

    def test_heartbeat_extends_the_lease(self, queue: JobQueue, other: JobQueue) -> None:
        queue.enqueue("train", {})
        job = queue.claim(self.lease_s)
        assert job is not None and job.lease_token
        for _ in range(3):
            time.sleep(self.lease_s / 2)
            assert queue.heartbeat(job.id, job.lease_token, self.lease_s * 4) is True
        time.sleep(self.lease_s + 0.1)  # past the original lease, within the extended one
        assert other.claim(self.lease_s) is None
        assert queue.get(job.id).attempts == 1
        assert queue.ack(job.id, job.lease_token) is True

    # -- ack / nack / dead letter --------------------------------------------------------------

    def test_acked_job_is_done_and_never_handed_out_again(self, queue: JobQueue) -> None:
        queue.enqueue("train", {})
        job = queue.claim(self.lease_s)
        assert job is not None and job.lease_token
        assert queue.ack(job.id, job.lease_token) is True
        assert queue.get(job.id).status is JobStatus.DONE
        wait_out(self.lease_s)
        assert queue.claim(self.lease_s) is None
        assert queue.ack(job.id, job.lease_token) is False  # already done

    def test_nack_requeues_until_max_attempts_then_dead_letters(self, queue: JobQueue) -> None:
        job = queue.enqueue("train", {}, max_attempts=3)
        for attempt in (1, 2, 3):
            got = queue.claim(LONG_LEASE)
            assert got is not None and got.id == job.id and got.lease_token
            assert got.attempts == attempt
            assert queue.nack(got.id, got.lease_token, f"boom {attempt}") is True
            stored = queue.get(job.id)
            assert stored.last_error == f"boom {attempt}"
            assert stored.status is (JobStatus.QUEUED if attempt < 3 else JobStatus.DEAD)
        assert queue.claim(LONG_LEASE) is None

    def test_nack_without_retry_dead_letters_at_once(self, queue: JobQueue) -> None:
        job = queue.enqueue("train", {}, max_attempts=5)
        got = queue.claim(LONG_LEASE)
        assert got is not None and got.lease_token
        assert queue.nack(got.id, got.lease_token, "bad input", retry=False) is True
        stored = queue.get(job.id)
        assert (stored.status, stored.last_error) == (JobStatus.DEAD, "bad input")
        assert queue.claim(LONG_LEASE) is None

    def test_repeated_lease_expiry_dead_letters_the_job(self, queue: JobQueue) -> None:
        job = queue.enqueue("train", {}, max_attempts=2)
        for attempt in (1, 2):
            got = queue.claim(self.lease_s)
            assert got is not None and got.id == job.id and got.attempts == attempt
            wait_out(self.lease_s)
        assert queue.claim(self.lease_s) is None
        stored = queue.get(job.id)
        assert stored.status is JobStatus.DEAD
        assert stored.attempts == 2

    def test_a_dead_job_does_not_block_the_next_one(self, queue: JobQueue) -> None:
        dead = queue.enqueue("train", {}, max_attempts=1)
        got = queue.claim(self.lease_s)
        assert got is not None and got.id == dead.id
        nxt = queue.enqueue("train", {})
        wait_out(self.lease_s)
        again = queue.claim(LONG_LEASE)
        assert again is not None and again.id == nxt.id
        assert queue.get(dead.id).status is JobStatus.DEAD
