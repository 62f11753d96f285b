"""Start and cancel training runs. Starting validates, snapshots the dataset reference, writes a
queued Run and enqueues a job; a worker executes it (see ``execution`` and ``worker``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlsmith.core.domain import Run, RunStatus, utcnow
from mlsmith.core.errors import InvalidInput, Throttled
from mlsmith.core.services import data_sources, datasets
from mlsmith.core.services.scope import Scope

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

TASKS = ("auto", "binary", "multiclass", "regression")
TRAIN_JOB = "train"
_NUMERIC_PREFIXES = ("int", "uint", "float", "Int", "UInt", "Float")
# Run options an experiment may set and a run may override.
RUN_OPTIONS = ("metric", "folds", "time_budget_s", "seed", "tune_top_k", "candidates")


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
    experiment_id: str | None = None,
    created_by: str | None = None,
) -> Run:
    """Validate, write a queued run and enqueue its job. With ``created_by`` (a server user) the
    per-user limit of queued + running runs applies (Throttled beyond it)."""
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
        experiment_id=experiment_id,
        created_by=created_by,
    )
    run.job_id = run.id  # one job per run: enqueueing is idempotent on the run id
    with backends.metadata.unit_of_work() as uow:
        if created_by is not None:  # counted and added in one transaction
            limit = backends.settings.max_concurrent_runs_per_user
            if uow.runs.count_active(created_by=created_by) >= limit:
                raise Throttled(
                    f"at most {limit} queued or running runs per user; "
                    "wait for one to finish or cancel one",
                    limit=limit,
                    retry_after_s=int(max(1, backends.settings.lease_s)),
                )
        uow.runs.add(run)
        uow.events.append(run.id, "status", {"status": "queued"})
    backends.queue.enqueue(TRAIN_JOB, {"run_id": run.id}, job_id=run.job_id)
    return run


def start_experiment_run(
    backends: Backends,
    scope: Scope,
    experiment_id: str,
    *,
    dataset_id: str | None = None,
    overrides: dict[str, Any] | None = None,
    created_by: str | None = None,
    data_source_id: str | None = None,
    source_request: dict[str, Any] | None = None,
) -> Run:
    """Start a run of an experiment: target, task and default options come from the experiment;
    ``overrides`` may change the options in RUN_OPTIONS only. The data is a dataset, or a data
    source read with ``source_request`` and snapshotted into a new dataset first (removed again
    when the run is refused)."""
    if (dataset_id is None) == (data_source_id is None):
        raise InvalidInput("give exactly one of dataset_id and data_source_id")
    with backends.metadata.unit_of_work() as uow:
        exp = uow.experiments.get(experiment_id)
    scope.check(exp, "experiment", experiment_id)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(RUN_OPTIONS))
    if unknown:
        raise InvalidInput(
            f"unknown run option(s) {', '.join(unknown)}; choose from {', '.join(RUN_OPTIONS)}",
            unknown=unknown,
        )
    options = {k: v for k, v in (exp.settings or {}).items() if k in RUN_OPTIONS}
    options.update(overrides)
    _check_option_types(options)
    snapshot = None
    if data_source_id is not None:
        snapshot = data_sources.snapshot(backends, scope, data_source_id, source_request or {})
        dataset_id = snapshot.id
    try:
        return start_run(
            backends,
            scope,
            dataset_id,
            exp.target,
            task=exp.task,
            experiment_id=exp.id,
            created_by=created_by,
            **options,
        )
    except Exception:
        if snapshot is not None:
            datasets.delete(backends, scope, snapshot.id)
        raise


def _check_option_types(options: dict[str, Any]) -> None:
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    checks = {
        "metric": lambda v: v is None or isinstance(v, str),
        "folds": is_int,
        "time_budget_s": lambda v: v is None or (is_int(v) or isinstance(v, float)),
        "seed": is_int,
        "tune_top_k": lambda v: is_int(v) and 0 <= v <= 100,
        "candidates": lambda v: (
            v is None or (isinstance(v, list) and all(isinstance(c, str) for c in v))
        ),
    }
    for key, value in options.items():
        if not checks[key](value):
            raise InvalidInput(f"invalid value for run option {key!r}", option=key)


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
