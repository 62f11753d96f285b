"""Start and cancel training runs. Starting validates, snapshots the dataset reference, writes a
queued Run and enqueues a job; a worker executes it (see ``execution`` and ``worker``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsmith.core.domain import Run, RunStatus, utcnow
from mlsmith.core.errors import InvalidInput
from mlsmith.core.services import datasets
from mlsmith.core.services.scope import Scope

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

TASKS = ("auto", "binary", "multiclass", "regression")
TRAIN_JOB = "train"
_NUMERIC_PREFIXES = ("int", "uint", "float", "Int", "UInt", "Float")


def start_run(
    backends: Backends,
    scope: Scope,
    dataset_id: str,
    target: str,
    *,
    task: str = "auto",
    metric: str | None = None,
    folds: int = 5,
    time_budget_s: float | None = 60.0,
    seed: int = 0,
    tune_top_k: int = 0,
    candidates: list[str] | None = None,
) -> Run:
    ds = datasets.get(backends, scope, dataset_id)
    dtypes = {c["name"]: c["dtype"] for c in ds.columns}
    if target not in dtypes:
        raise InvalidInput(
            f"unknown target column {target!r}; columns are: {', '.join(list(dtypes)[:20])}",
            target=target,
        )
    if task not in TASKS:
        raise InvalidInput(f"unknown task {task!r}; choose one of {', '.join(TASKS)}", task=task)
    if task == "regression" and not dtypes[target].startswith(_NUMERIC_PREFIXES):
        raise InvalidInput(
            f"target {target!r} is not numeric ({dtypes[target]}); regression needs a numeric target",
            target=target,
        )
    if not 2 <= folds <= 20:
        raise InvalidInput("folds must be between 2 and 20", folds=folds)
    if time_budget_s is not None and time_budget_s <= 0:
        raise InvalidInput("time budget must be positive", time_budget_s=time_budget_s)
    if metric is not None:
        _check_metric(task, metric)
    settings: dict[str, Any] = {
        "folds": folds,
        "time_budget_s": time_budget_s,
        "seed": seed,
        "tune_top_k": tune_top_k,
        "candidates": candidates,
    }
    run = Run(
        workspace_id=scope.workspace_id,
        dataset_id=ds.id,
        target=target,
        task=task,
        metric=metric,
        settings=settings,
    )
    run.job_id = run.id  # one job per run: enqueueing is idempotent on the run id
    with backends.metadata.unit_of_work() as uow:
        uow.runs.add(run)
        uow.events.append(run.id, "status", {"status": "queued"})
    backends.queue.enqueue(TRAIN_JOB, {"run_id": run.id}, job_id=run.job_id)
    return run


def _check_metric(task: str, metric: str) -> None:
    from mlsmith.core.engine import available_metrics

    tasks = ("binary", "multiclass", "regression") if task == "auto" else (task,)
    known = sorted({m for t in tasks for m in available_metrics(t)})
    if metric not in known:
        raise InvalidInput(
            f"unknown metric {metric!r}; choose one of {', '.join(known)}", metric=metric
        )


def cancel_run(backends: Backends, scope: Scope, run_id: str) -> Run:
    """Queued runs are cancelled at once; running ones are flagged and their worker stops them
    (preemptively on process/Celery compute, between folds on thread compute)."""
    with backends.metadata.unit_of_work() as uow:
        run = uow.runs.get(run_id)
        scope.check(run, "run", run_id)
        if run.status.terminal:
            return run
        now = utcnow()
        if uow.runs.transition(
            run_id, (RunStatus.QUEUED,), RunStatus.CANCELLED, stage="cancelled", finished_at=now
        ):
            uow.events.append(run_id, "status", {"status": "cancelled"})
        elif uow.runs.request_cancel(run_id):
            uow.events.append(run_id, "status", {"status": "cancel_requested"})
        return uow.runs.get(run_id)
