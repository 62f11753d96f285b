"""A worker that shuts down hands its in-flight runs back to the queue; the next one finishes them."""

from __future__ import annotations

import threading
import time

from mlsmith.core.domain import JobStatus, RunStatus
from mlsmith.core.services import runs, training
from mlsmith.core.services.worker import Worker


def _wait(cond, what: str, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_shutdown_requeues_a_running_run_and_a_new_worker_completes_it(
    backends, scope, iris_dataset
):
    run = training.start_run(
        backends, scope, iris_dataset.id, "target", folds=3, time_budget_s=300, tune_top_k=3
    )
    stop = threading.Event()
    first = Worker(backends, poll_s=0.05)
    serving = threading.Thread(target=first.serve, args=(stop,))
    serving.start()
    _wait(lambda: runs.get(backends, scope, run.id).leaderboard, "the first model")
    stop.set()
    serving.join(60)
    assert not serving.is_alive()

    handed_back = runs.get(backends, scope, run.id)
    assert handed_back.status is RunStatus.QUEUED
    assert not handed_back.cancel_requested
    assert backends.queue.get(run.job_id).status is JobStatus.QUEUED
    statuses = [e.payload.get("status") for e in runs.events(backends, scope, run.id)]
    assert "cancelled" not in statuses and statuses[-1] == "queued"

    with backends.metadata.unit_of_work() as uow:  # make the second attempt quick
        r = uow.runs.get(run.id)
        r.settings = {**r.settings, "time_budget_s": 5, "tune_top_k": 0}
        uow.runs.save(r)
    second = Worker(backends, poll_s=0.05)
    second.run_until(lambda: runs.get(backends, scope, run.id).status.terminal and not second.busy)
    final = runs.get(backends, scope, run.id)
    assert final.status is RunStatus.SUCCEEDED, final.error
    assert final.attempt == 2


def test_a_user_cancel_during_shutdown_still_ends_cancelled(backends, scope, iris_dataset):
    run = training.start_run(
        backends, scope, iris_dataset.id, "target", folds=3, time_budget_s=300, tune_top_k=3
    )
    stop = threading.Event()
    worker = Worker(backends, poll_s=0.05)
    serving = threading.Thread(target=worker.serve, args=(stop,))
    serving.start()
    _wait(lambda: runs.get(backends, scope, run.id).leaderboard, "the first model")
    training.cancel_run(backends, scope, run.id)
    stop.set()
    serving.join(60)
    assert runs.get(backends, scope, run.id).status is RunStatus.CANCELLED
