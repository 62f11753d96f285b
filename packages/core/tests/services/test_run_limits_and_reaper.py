"""Per-user run limit, experiment runs, and the reaper that fails runs whose worker died."""

from __future__ import annotations

import time

import pytest

from mlsmith.core.domain import Experiment, JobStatus, Project, Run, RunStatus
from mlsmith.core.domain.ids import utcnow
from mlsmith.core.errors import InvalidInput, NotFound, Throttled
from mlsmith.core.services import runs, training
from mlsmith.core.services.scope import Scope
from mlsmith.core.services.training import TRAIN_JOB
from mlsmith.core.services.worker import Worker, reap_dead_runs


def _start(backends, scope, ds, user="usr_a"):
    return training.start_run(backends, scope, ds.id, "target", folds=2, created_by=user)


def test_per_user_limit_counts_queued_and_running_runs(backends, scope, iris_dataset):
    limit = backends.settings.max_concurrent_runs_per_user
    started = [_start(backends, scope, iris_dataset) for _ in range(limit)]
    assert all(r.created_by == "usr_a" for r in started)
    with pytest.raises(Throttled) as err:
        _start(backends, scope, iris_dataset)
    assert err.value.details["retry_after_s"] >= 1
    _start(backends, scope, iris_dataset, user="usr_b")  # another user is not affected
    training.start_run(backends, scope, iris_dataset.id, "target")  # nor the embedded caller
    training.cancel_run(backends, scope, started[0].id)
    _start(backends, scope, iris_dataset)  # a slot freed up


def _experiment(backends, scope, **settings) -> Experiment:
    with backends.metadata.unit_of_work() as uow:
        prj = Project(workspace_id=scope.workspace_id, name="p")
        uow.projects.add(prj)
        exp = Experiment(
            workspace_id=scope.workspace_id,
            project_id=prj.id,
            name="e",
            target="target",
            task="multiclass",
            settings=settings,
        )
        uow.experiments.add(exp)
    return exp


def test_experiment_run_takes_target_task_and_settings_from_the_experiment(
    backends, scope, iris_dataset
):
    exp = _experiment(backends, scope, folds=3, seed=7, metric="accuracy")
    run = training.start_experiment_run(
        backends, scope, exp.id, dataset_id=iris_dataset.id, overrides={"seed": 9}, created_by="u"
    )
    assert (run.target, run.task, run.metric, run.experiment_id) == (
        "target",
        "multiclass",
        "accuracy",
        exp.id,
    )
    assert (run.settings["folds"], run.settings["seed"]) == (3, 9)
    assert runs.get(backends, scope, run.id).created_by == "u"


@pytest.mark.parametrize(
    "overrides",
    [{"target": "x"}, {"folds": "3"}, {"folds": True}, {"candidates": "rf"}, {"tune_top_k": -1}],
)
def test_experiment_run_refuses_unknown_or_mistyped_overrides(
    backends, scope, iris_dataset, overrides
):
    exp = _experiment(backends, scope)
    with pytest.raises(InvalidInput):
        training.start_experiment_run(
            backends, scope, exp.id, dataset_id=iris_dataset.id, overrides=overrides
        )


def test_experiment_of_another_workspace_is_not_found(backends, scope, iris_dataset):
    exp = _experiment(backends, scope)
    with pytest.raises(NotFound):
        training.start_experiment_run(
            backends, Scope("ws_other"), exp.id, dataset_id=iris_dataset.id
        )


def _kill_every_attempt(backends, run_id: str) -> None:
    """A worker that claims the job, marks the run running and dies, until no attempt is left."""
    while True:
        job = backends.queue.claim(0.01, kinds=(TRAIN_JOB,))
        if job is None:
            if backends.queue.get(run_id).status is JobStatus.DEAD:
                return
            time.sleep(0.02)  # let the last lease expire
            continue
        with backends.metadata.unit_of_work() as uow:
            uow.runs.transition(run_id, (RunStatus.QUEUED, RunStatus.RUNNING), RunStatus.RUNNING)


def test_reaper_fails_a_running_run_whose_job_died(backends, scope, iris_dataset):
    run = training.start_run(backends, scope, iris_dataset.id, "target", folds=2)
    _kill_every_attempt(backends, run.id)
    healthy = training.start_run(backends, scope, iris_dataset.id, "target", folds=2)
    assert runs.get(backends, scope, run.id).status is RunStatus.RUNNING

    assert reap_dead_runs(backends) == [run.id]
    dead = runs.get(backends, scope, run.id)
    assert dead.status is RunStatus.FAILED and "dead-lettered" in dead.error
    assert runs.events(backends, scope, run.id)[-1].payload["status"] == "failed"
    assert runs.get(backends, scope, healthy.id).status is not RunStatus.FAILED
    assert reap_dead_runs(backends) == []  # compare-and-set: reaping twice changes nothing


def test_reaper_fails_a_run_whose_last_lease_expired_before_anyone_claimed(
    backends, scope, iris_dataset
):
    run = training.start_run(backends, scope, iris_dataset.id, "target", folds=2)
    for _ in range(3):
        job = backends.queue.claim(0.01)
        assert job is not None
        with backends.metadata.unit_of_work() as uow:
            uow.runs.transition(run.id, (RunStatus.QUEUED, RunStatus.RUNNING), RunStatus.RUNNING)
        while backends.queue.get(run.id).lease_until >= utcnow():
            time.sleep(0.01)
    assert backends.queue.get(run.id).status is JobStatus.LEASED  # nobody noticed yet
    assert reap_dead_runs(backends) == [run.id]
    assert runs.get(backends, scope, run.id).status is RunStatus.FAILED


def test_reaper_fails_a_run_whose_job_is_gone_only_after_the_grace(backends, scope, iris_dataset):
    run = Run(workspace_id=scope.workspace_id, dataset_id=iris_dataset.id, target="target")
    run.job_id = "job_never_enqueued"
    with backends.metadata.unit_of_work() as uow:
        uow.runs.add(run)
    assert reap_dead_runs(backends, grace_s=3600) == []  # may be being enqueued right now
    assert reap_dead_runs(backends, grace_s=0) == [run.id]
    assert runs.get(backends, scope, run.id).status is RunStatus.FAILED


def test_worker_loop_reaps_dead_runs(backends, scope, iris_dataset):
    run = training.start_run(backends, scope, iris_dataset.id, "target", folds=2)
    _kill_every_attempt(backends, run.id)
    worker = Worker(backends, poll_s=0.01)
    worker.run_until(lambda: runs.get(backends, scope, run.id).status.terminal)
    assert runs.get(backends, scope, run.id).status is RunStatus.FAILED
