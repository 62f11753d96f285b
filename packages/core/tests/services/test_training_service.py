from __future__ import annotations

import pytest

from mlsmith.core.domain import JobStatus, RunStatus
from mlsmith.core.errors import InvalidInput, NotFound
from mlsmith.core.services import runs, training
from mlsmith.core.services.scope import Scope


def test_start_run_writes_a_queued_run_and_one_job(backends, scope, iris_dataset):
    run = training.start_run(backends, scope, iris_dataset.id, "target", folds=3)
    assert runs.get(backends, scope, run.id).status is RunStatus.QUEUED
    assert backends.queue.get(run.job_id).status is JobStatus.QUEUED
    assert [e.payload["status"] for e in runs.events(backends, scope, run.id)] == ["queued"]


def test_unknown_target_is_refused_before_anything_is_queued(backends, scope, iris_dataset):
    with pytest.raises(InvalidInput, match="unknown target column 'species'"):
        training.start_run(backends, scope, iris_dataset.id, "species")
    assert runs.list_runs(backends, scope) == []


def test_regression_on_a_text_target_is_refused(backends, scope, iris_dataset):
    with pytest.raises(InvalidInput, match="not numeric"):
        training.start_run(backends, scope, iris_dataset.id, "target", task="regression")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "clustering"}, "unknown task"),
        ({"folds": 1}, "folds"),
        ({"time_budget_s": 0}, "time budget"),
    ],
)
def test_bad_run_options_are_refused(backends, scope, iris_dataset, kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        training.start_run(backends, scope, iris_dataset.id, "target", **kwargs)


def test_cancelling_a_queued_run_ends_it_at_once(backends, scope, iris_dataset):
    run = training.start_run(backends, scope, iris_dataset.id, "target")
    assert training.cancel_run(backends, scope, run.id).status is RunStatus.CANCELLED


def test_runs_of_another_workspace_are_not_found(backends, scope, iris_dataset):
    run = training.start_run(backends, scope, iris_dataset.id, "target")
    other = Scope("ws_other")
    with pytest.raises(NotFound):
        runs.get(backends, other, run.id)
    with pytest.raises(NotFound):
        training.cancel_run(backends, other, run.id)
    assert runs.list_runs(backends, other) == []
