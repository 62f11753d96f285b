"""The worker loop: claim jobs from the queue, hand them to compute, keep their leases alive,
forward cancel requests, and settle runs whose task ended without settling them (a killed process).
Every ~``lease_s`` a reaper pass fails the active runs whose job can never run again (dead-lettered
after its attempts, or gone), whichever process's worker died: a run is never left ``running``.

The same loop serves the embedded CLI (``run_until``), ``mlsmith serve`` (a background thread) and
``mlsmith worker``; only the configured queue and compute differ.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from mlsmith.core.domain import Job, JobStatus, Run, RunStatus, utcnow
from mlsmith.core.errors import NotFound
from mlsmith.core.ports.compute import TaskState
from mlsmith.core.services import execution, profiling
from mlsmith.core.services.profiling import PROFILE_JOB
from mlsmith.core.services.training import TRAIN_JOB

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

log = logging.getLogger(__name__)
EXECUTE_RUN = "mlsmith.core.services.execution:execute_run"
EXECUTE_PROFILE = "mlsmith.core.services.profiling:execute_profile"
# job kind -> (compute task, the payload field naming its object, passed on as the task's kwarg)
TASKS = {TRAIN_JOB: (EXECUTE_RUN, "run_id"), PROFILE_JOB: (EXECUTE_PROFILE, "report_id")}
_ENDED = (TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED, TaskState.UNKNOWN)


@dataclass
class _Active:
    job: Job
    run_id: str  # the object of the job: a run id, or a report id for a profile job
    next_heartbeat: float
    cancel_sent: bool = False


class Worker:
    def __init__(
        self,
        backends: Backends,
        *,
        poll_s: float = 0.2,
        accept: Callable[[], bool] = lambda: True,
    ) -> None:
        """``accept()`` says whether to claim more work now: a CLI waiting for its own run stops
        claiming once that run is underway, so it never waits on strangers' runs."""
        self.backends = backends
        self.accept = accept
        self.poll_s = poll_s
        self.capacity = backends.settings.workers
        self.lease_s = backends.settings.lease_s
        self._active: dict[str, _Active] = {}
        self._stopping = False
        self._next_reap = 0.0

    def tick(self) -> None:
        """One pass: settle ended tasks, heartbeat and cancel live ones, claim new work, and every
        ~lease_s reap runs whose job died."""
        if time.monotonic() >= self._next_reap:
            self._next_reap = time.monotonic() + self.lease_s
            try:
                reap_dead_runs(self.backends)
            except Exception:  # reaping is housekeeping: it must never stop the loop
                log.exception("reaper pass failed")
        for job_id, act in list(self._active.items()):
            status = self.backends.compute.status(job_id)
            if status.state in _ENDED:
                self._settle(act, status.state, status.error)
                del self._active[job_id]
            else:
                self._tend(act)
        while len(self._active) < self.capacity and self.accept():
            job = self.backends.queue.claim(self.lease_s, kinds=tuple(TASKS))
            if job is None:
                break
            target, field = TASKS[job.kind]
            obj_id = job.payload[field]
            self._active[job.id] = _Active(job, obj_id, time.monotonic() + self.lease_s / 3)
            self.backends.compute.submit(job.id, target, {field: obj_id})

    @property
    def busy(self) -> bool:
        return bool(self._active)

    def run_until(
        self, done: Callable[[], bool], on_tick: Callable[[], None] | None = None
    ) -> None:
        """Drive the loop in this thread until ``done()`` (the embedded CLI and API use this)."""
        while True:
            self.tick()
            if on_tick:
                on_tick()
            if done():
                return
            time.sleep(self.poll_s)

    def serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the loop must survive a passing backend error
                log.exception("worker tick failed")
            stop.wait(self.poll_s)
        self.shutdown()

    def shutdown(self, wait_s: float = 10.0) -> None:
        """Stop the tasks this worker runs and hand their runs back to the queue, so that a
        restarted server (or another worker) runs them again instead of finding them cancelled."""
        self._stopping = True
        for job_id in list(self._active):
            self.backends.compute.cancel(job_id)
        deadline = time.monotonic() + wait_s
        while self._active and time.monotonic() < deadline:
            for job_id, act in list(self._active.items()):
                status = self.backends.compute.status(job_id)
                if status.state in _ENDED:
                    self._settle(act, status.state, status.error)
                    del self._active[job_id]
            time.sleep(0.05)

    def _tend(self, act: _Active) -> None:
        now = time.monotonic()
        if now >= act.next_heartbeat:
            act.next_heartbeat = now + self.lease_s / 3
            if not self.backends.queue.heartbeat(act.job.id, act.job.lease_token, self.lease_s):
                log.warning("lost the lease of job %s; stopping it", act.job.id)
                self.backends.compute.cancel(act.job.id)
        if act.job.kind != TRAIN_JOB:  # only runs can be cancelled
            return
        if not act.cancel_sent and self._cancel_requested(act.run_id):
            act.cancel_sent = True
            self.backends.compute.cancel(act.job.id)

    def _cancel_requested(self, run_id: str) -> bool:
        with self.backends.metadata.unit_of_work() as uow:
            try:
                return uow.runs.get(run_id).cancel_requested
            except NotFound:  # deleted while running
                return True

    def _hand_back(self, act: _Active) -> bool:
        """While shutting down, a run nobody asked to cancel goes back to the queue with its job
        (the next worker starts it again). False when the run is not ours to hand back."""
        with self.backends.metadata.unit_of_work(read_only=True) as uow:
            try:
                run = uow.runs.get(act.run_id)
            except NotFound:
                return False
        if run.status.terminal or run.cancel_requested:
            return False
        if run.status is RunStatus.RUNNING:
            execution.requeue(self.backends, act.run_id)
        self.backends.queue.nack(act.job.id, act.job.lease_token, "worker shut down", retry=True)
        return True

    def _settle(self, act: _Active, state: TaskState, error: str | None) -> None:
        """The task ended. If it did not settle its run (killed, crashed), settle it here."""
        if act.job.kind == PROFILE_JOB:
            reason = f"worker task ended without a result: {error or state.value}"
            profiling.fail_report(self.backends, act.run_id, reason)
            self.backends.queue.ack(act.job.id, act.job.lease_token)
            return
        if self._stopping and self._hand_back(act):
            return
        with self.backends.metadata.unit_of_work() as uow:
            try:
                run = uow.runs.get(act.run_id)
            except NotFound:
                run = None
            if run is not None and not run.status.terminal:
                cancelled = run.cancel_requested or state == TaskState.CANCELLED
                new = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
                fields = {"stage": new.value, "finished_at": utcnow()}
                if not cancelled:
                    fields["error"] = f"worker task ended without a result: {error or state.value}"
                if uow.runs.transition(
                    act.run_id, (RunStatus.QUEUED, RunStatus.RUNNING), new, **fields
                ):
                    uow.events.append(act.run_id, "status", {"status": new.value})
        self.backends.queue.ack(act.job.id, act.job.lease_token)


def reap_dead_runs(backends: Backends, *, grace_s: float | None = None) -> list[str]:
    """Fail (by compare-and-set) every queued or running run whose job will never run again: DEAD
    in the queue, leased past its last allowed attempt, or missing (``grace_s`` after the run was
    created, so a run whose job is being enqueued right now is left alone). Safe to run from many
    processes at once. Returns the ids of the runs it failed."""
    grace = timedelta(seconds=backends.settings.lease_s if grace_s is None else grace_s)
    with backends.metadata.unit_of_work() as uow:
        active = uow.runs.list_active()
    reaped = []
    for run in active:
        reason = _dead_job_reason(backends, run, grace)
        if reason is None:
            continue
        with backends.metadata.unit_of_work() as uow:
            won = uow.runs.transition(
                run.id,
                (RunStatus.QUEUED, RunStatus.RUNNING),
                RunStatus.FAILED,
                stage=RunStatus.FAILED.value,
                finished_at=utcnow(),
                error=reason,
            )
            if won:
                uow.events.append(run.id, "status", {"status": "failed", "error": reason})
        if won:
            log.warning("run %s failed by the reaper: %s", run.id, reason)
            backends.notifier.publish("run.failed", {"run_id": run.id})
            reaped.append(run.id)
    return reaped


def _dead_job_reason(backends: Backends, run: Run, grace: timedelta) -> str | None:
    if run.job_id is None:
        return None
    now = utcnow()
    try:
        job = backends.queue.get(run.job_id)
    except NotFound:
        if now - run.created_at > grace:
            return "the run's job is gone from the queue"
        return None
    if job.status is JobStatus.DEAD:
        return f"the run's job was dead-lettered: {job.last_error or 'attempts exhausted'}"
    if (
        job.status is JobStatus.LEASED
        and job.lease_until is not None
        and job.lease_until < now
        and job.attempts >= job.max_attempts
    ):
        return "the worker of the run's last attempt stopped (lease expired)"
    if job.status is JobStatus.DONE:  # acked, yet the run never settled: nothing will run it
        return "the run's job ended without settling the run"
    return None
