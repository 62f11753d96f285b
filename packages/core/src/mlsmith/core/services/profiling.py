"""EDA profiles of datasets: start one (a queued Report and a "profile" job), execute it on the
compute (``execute_profile``), read its JSON result and its HTML page.

The page is stored under a platform key (``reports/<report_id>/report.html``) with its sha256 in
the report row; ``read_html`` refuses bytes that no longer match. Reading needs a viewer of the
dataset's workspace, starting a member (``scope.role``; None is the embedded, unrestricted caller).
"""

from __future__ import annotations

import hashlib
import io
import logging
from typing import TYPE_CHECKING

from mlsmith.core.domain import Report, ReportStatus, Role, utcnow
from mlsmith.core.errors import (
    Conflict,
    IntegrityError,
    InvalidInput,
    MlsmithError,
    NotFound,
    PermissionDenied,
)
from mlsmith.core.services import datasets
from mlsmith.core.services.scope import Scope
from mlsmith.core.storage_keys import join_key

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

log = logging.getLogger(__name__)
PROFILE_JOB = "profile"
_TERMINAL = (ReportStatus.SUCCEEDED, ReportStatus.FAILED)
_MAX_ERROR = 500


def report_key(report_id: str) -> str:
    return join_key("reports", report_id, "report.html")


def start_profile(
    backends: Backends, scope: Scope, dataset_id: str, target: str | None = None
) -> Report:
    """Write a queued report of the dataset and enqueue its job (one job per report)."""
    if scope.role is not None and not scope.role.at_least(Role.MEMBER):
        raise PermissionDenied("profiling a dataset needs the member role", need="member")
    ds = datasets.get(backends, scope, dataset_id)
    names = [c["name"] for c in ds.columns]
    if target is not None and target not in names:
        raise InvalidInput(
            f"unknown target column {target!r}; columns are: {', '.join(names[:20])}",
            target=target,
        )
    report = Report(workspace_id=scope.workspace_id, dataset_id=ds.id, target=target)
    with backends.metadata.unit_of_work() as uow:
        uow.reports.add(report)
    backends.queue.enqueue(PROFILE_JOB, {"report_id": report.id}, job_id=report.id)
    return report


def get_report(backends: Backends, scope: Scope, report_id: str) -> Report:
    with backends.metadata.unit_of_work() as uow:
        report = uow.reports.get(report_id)
    scope.check(report, "report", report_id)
    return report


def read_html(backends: Backends, scope: Scope, report_id: str) -> bytes:
    """The stored page, verified against the sha256 recorded when it was written."""
    report = get_report(backends, scope, report_id)
    if report.status is not ReportStatus.SUCCEEDED or not report.html_key:
        raise Conflict(
            f"report {report_id} is {report.status.value}; its page exists once it succeeded",
            status=report.status.value,
        )
    with backends.blobs.open(report.html_key) as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != report.html_sha256:
        raise IntegrityError(f"report {report_id} changed in storage", report_id=report_id)
    return data


def execute_profile(backends: Backends, report_id: str) -> None:
    """The compute task: profile the dataset (verified against its upload sha256), store the page,
    and settle the report. Whatever breaks, the report ends succeeded or failed."""
    from mlsmith.core.profile import profile_frame, render_html

    with backends.metadata.unit_of_work() as uow:
        report = uow.reports.get(report_id)
        if report.status in _TERMINAL:
            return
        report.status = ReportStatus.RUNNING
        uow.reports.save(report)
    try:
        with backends.metadata.unit_of_work() as uow:
            ds = uow.datasets.get(report.dataset_id)
        df = datasets.load_frame(backends, ds)
        if report.target is not None and report.target not in df.columns:
            raise InvalidInput(f"target column {report.target!r} is not in the dataset")
        result = profile_frame(df, report.target)
        page = render_html(result, title=ds.name)
        key = report_key(report_id)
        info = backends.blobs.put(key, io.BytesIO(page))
    except Exception as exc:  # a report must end in a state, whatever broke
        if not isinstance(exc, MlsmithError):
            log.exception("profile %s failed", report_id)
        fail_report(backends, report_id, _one_line(exc))
        return
    with backends.metadata.unit_of_work() as uow:
        report = uow.reports.get(report_id)
        report.status = ReportStatus.SUCCEEDED
        report.result = result
        report.html_key = key
        report.html_sha256 = info.sha256
        report.error = None
        report.finished_at = utcnow()
        uow.reports.save(report)


def fail_report(backends: Backends, report_id: str, error: str) -> bool:
    """Mark a report that has not ended failed (the worker uses it when a task died). True when
    this call failed it."""
    with backends.metadata.unit_of_work() as uow:
        try:
            report = uow.reports.get(report_id)
        except NotFound:
            return False
        if report.status in _TERMINAL:
            return False
        report.status = ReportStatus.FAILED
        report.error = error[:_MAX_ERROR]
        report.finished_at = utcnow()
        uow.reports.save(report)
    return True


def _one_line(exc: BaseException) -> str:
    msg = exc.message if isinstance(exc, MlsmithError) else f"{type(exc).__name__}: {exc}"
    line = " ".join(str(msg).split())
    return line[:_MAX_ERROR] or type(exc).__name__
