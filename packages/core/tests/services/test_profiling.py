"""Profiling jobs on fake backends: start -> the worker runs it -> succeeded with JSON and a stored,
verified HTML page; failures end the report failed; tampered pages are refused."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from mlsmith.core.domain import ReportStatus, Role
from mlsmith.core.errors import Conflict, IntegrityError, InvalidInput, NotFound, PermissionDenied
from mlsmith.core.ports.compute import TaskState, TaskStatus
from mlsmith.core.services import datasets, profiling
from mlsmith.core.services.scope import Scope
from mlsmith.core.services.worker import Worker


def _run(backends, scope, report_id):
    worker = Worker(backends, poll_s=0.01)
    worker.run_until(
        lambda: (
            profiling.get_report(backends, scope, report_id).status
            in (ReportStatus.SUCCEEDED, ReportStatus.FAILED)
            and not worker.busy
        )
    )
    return profiling.get_report(backends, scope, report_id)


def test_worker_runs_a_queued_profile_to_success(backends, scope, iris_dataset):
    report = profiling.start_profile(backends, scope, iris_dataset.id, target="target")
    assert report.status is ReportStatus.QUEUED
    assert backends.queue.get(report.id).kind == "profile"
    with pytest.raises(Conflict):  # no page before it succeeded
        profiling.read_html(backends, scope, report.id)

    done = _run(backends, scope, report.id)
    assert done.status is ReportStatus.SUCCEEDED, done.error
    assert done.result["n_rows"] == 150 and done.result["target"]["task"] == "classification"
    assert done.html_key == f"reports/{report.id}/report.html"
    page = profiling.read_html(backends, scope, report.id)
    assert page.startswith(b"<!DOCTYPE html>") and b"petal length (cm)" in page
    assert done.finished_at is not None


def test_tampered_stored_html_is_refused(backends, scope, iris_dataset):
    report = profiling.start_profile(backends, scope, iris_dataset.id)
    done = _run(backends, scope, report.id)
    backends.blobs.put(done.html_key, io.BytesIO(b"<!DOCTYPE html><script>evil()</script>"))
    with pytest.raises(IntegrityError):
        profiling.read_html(backends, scope, report.id)


def test_a_dataset_changed_in_storage_fails_the_report_with_one_line(backends, scope, iris_dataset):
    backends.blobs.put(iris_dataset.storage_key, io.BytesIO(b"a,b\n1,2\n"))
    report = profiling.start_profile(backends, scope, iris_dataset.id)
    done = _run(backends, scope, report.id)
    assert done.status is ReportStatus.FAILED
    assert "changed in storage" in done.error and "\n" not in done.error
    assert done.html_key is None


def test_a_task_that_died_leaves_the_report_failed(backends, scope, iris_dataset, monkeypatch):
    report = profiling.start_profile(backends, scope, iris_dataset.id)
    # The compute says the task ended without it ever settling the report (a killed process).
    monkeypatch.setattr(backends.compute, "submit", lambda *a, **k: None)
    died = TaskStatus(TaskState.FAILED, "killed")
    monkeypatch.setattr(backends.compute, "status", lambda _id: died)
    worker = Worker(backends, poll_s=0.01)
    worker.tick()  # claims and submits
    worker.tick()  # sees the task ended and settles its report
    done = profiling.get_report(backends, scope, report.id)
    assert done.status is ReportStatus.FAILED and "killed" in done.error
    assert not worker.busy


def test_start_validates_the_target_and_the_role(backends, scope, iris_dataset):
    with pytest.raises(InvalidInput):
        profiling.start_profile(backends, scope, iris_dataset.id, target="nope")
    viewer = Scope(scope.workspace_id, user_id="u1", role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        profiling.start_profile(backends, viewer, iris_dataset.id)


def test_reports_of_another_workspace_are_not_found(backends, scope, iris_dataset):
    report = profiling.start_profile(backends, scope, iris_dataset.id)
    other = Scope("ws_other")
    with pytest.raises(NotFound):
        profiling.get_report(backends, other, report.id)
    with pytest.raises(NotFound):
        profiling.read_html(backends, other, report.id)
    with pytest.raises(NotFound):
        profiling.start_profile(backends, other, iris_dataset.id)


def test_script_in_the_data_never_reaches_the_page_raw(backends, scope):
    evil = "<script>alert(1)</script>"
    frame = pd.DataFrame({evil: [evil, "b"] * 20, "x": range(40)})
    ds = datasets.ingest_frame(backends, scope, frame, name="evil.csv")
    report = profiling.start_profile(backends, scope, ds.id, target=evil)
    assert _run(backends, scope, report.id).status is ReportStatus.SUCCEEDED
    page = profiling.read_html(backends, scope, report.id).decode()
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
