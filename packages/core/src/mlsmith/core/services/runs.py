"""Read, delete and replay runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from mlsmith.core.domain import Artifact, Run, RunEvent, RunStatus
from mlsmith.core.errors import Conflict, InvalidInput, NotFound
from mlsmith.core.ports.storage import PresignsUrls
from mlsmith.core.services import artifacts, datasets
from mlsmith.core.services.scope import Scope

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends


def get(backends: Backends, scope: Scope, run_id: str) -> Run:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        run = uow.runs.get(run_id)
    scope.check(run, "run", run_id)
    return run


def list_runs(
    backends: Backends, scope: Scope, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[Run]:
    try:
        st = RunStatus(status) if status else None
    except ValueError as exc:
        choices = ", ".join(s.value for s in RunStatus)
        raise InvalidInput(f"unknown status {status!r}; choose one of {choices}") from exc
    with backends.metadata.unit_of_work(read_only=True) as uow:
        return uow.runs.list(scope.workspace_id, status=st, limit=limit, offset=offset)


def events(
    backends: Backends, scope: Scope, run_id: str, *, after_seq: int = 0, limit: int = 1000
) -> list[RunEvent]:
    get(backends, scope, run_id)
    with backends.metadata.unit_of_work(read_only=True) as uow:
        return uow.events.list(run_id, after_seq=after_seq, limit=limit)


def list_artifacts(backends: Backends, scope: Scope, run_id: str) -> list[Artifact]:
    get(backends, scope, run_id)
    with backends.metadata.unit_of_work(read_only=True) as uow:
        return uow.artifacts.list(run_id)


def leaderboard(backends: Backends, scope: Scope, run_id: str) -> list[dict[str, Any]]:
    """The leaderboard so far (best first); complete once the run succeeded."""
    return get(backends, scope, run_id).leaderboard


def fold_metrics(backends: Backends, scope: Scope, run_id: str) -> list[dict[str, Any]]:
    """Per model: its cross-validation scores fold by fold, with their mean and spread."""
    return [
        {
            "model": row.get("model"),
            "status": row.get("status"),
            "fold_scores": row.get("fold_scores") or {},
            "mean": row.get("mean") or {},
            "std": row.get("std") or {},
        }
        for row in get(backends, scope, run_id).leaderboard
    ]


@dataclass(frozen=True, slots=True)
class ArtifactDownload:
    """Either a presigned ``url`` (the store offers them) or an open ``stream`` to send."""

    artifact: Artifact
    url: str | None = None
    stream: BinaryIO | None = None


def open_artifact(
    backends: Backends, scope: Scope, run_id: str, name: str, *, expires_s: int = 300
) -> ArtifactDownload:
    """Look ``name`` up among the run's artifact rows (it is never used as a path) and hand out a
    presigned URL when the storage can make one, else an open stream of the stored bytes."""
    get(backends, scope, run_id)
    with backends.metadata.unit_of_work(read_only=True) as uow:
        try:
            art = uow.artifacts.get(run_id, name)
        except NotFound:
            raise NotFound(
                f"run {run_id} has no artifact {name[:100]!r}", run_id=run_id, kind="artifact"
            ) from None
    if isinstance(backends.blobs, PresignsUrls):
        return ArtifactDownload(art, url=backends.blobs.presign(art.storage_key, expires_s))
    return ArtifactDownload(art, stream=backends.blobs.open(art.storage_key))


def delete(backends: Backends, scope: Scope, run_id: str) -> int:
    """Delete a finished run: its stored files first (all attempts), then its rows. A model version
    that still points at the run keeps it alive (409)."""
    run = get(backends, scope, run_id)
    if not run.status.terminal:
        raise Conflict(f"run {run_id} is {run.status.value}; cancel it before deleting it")
    with backends.metadata.unit_of_work(read_only=True) as uow:
        for model in uow.models.list(scope.workspace_id):
            for mv in uow.models.list_versions(model.id):
                if mv.run_id == run_id:
                    raise Conflict(
                        f"run {run_id} backs model {model.name!r} version {mv.version}; "
                        "it cannot be deleted",
                        model=model.name,
                        version=mv.version,
                    )
    removed = backends.blobs.delete_prefix(artifacts.run_prefix(run_id))
    with backends.metadata.unit_of_work() as uow:
        uow.runs.delete(run_id)
    return removed


def replay(backends: Backends, scope: Scope, run_id: str) -> dict[str, Any]:
    """Re-derive a run's leaderboard from its reproducibility manifest (same data, seed, splits and
    candidates, no time budget) and compare it with the recorded one."""
    from mlsmith.core.engine import TrainConfig, fit_automl

    run = get(backends, scope, run_id)
    if not run.leaderboard or not run.manifest:
        raise Conflict(f"run {run_id} has no recorded leaderboard to replay")
    ds = datasets.get(backends, scope, run.dataset_id)
    if ds.sha256 != run.manifest.get("dataset_sha256"):
        raise Conflict("the run's dataset changed since the run; it cannot be replayed")
    df = datasets.load_frame(backends, ds)
    s = run.settings
    evaluated = [c["model"] for c in run.manifest.get("engine", {}).get("candidates", [])]
    # Tuned variants come from a random search over the budget: only base candidates replay.
    base = [m for m in evaluated if "_tuned_" not in m]
    recorded = {row["model"]: row for row in run.leaderboard if row["model"] in base}
    config = TrainConfig(
        target=run.target,
        task=run.task,
        metric=run.metric,
        folds=s.get("folds", 5),
        time_budget_s=None,
        seed=s.get("seed", 0),
        tune_top_k=0,
        candidates=base,  # the evaluated order, so early-stopping decisions repeat too
        finalize=False,
    )
    result = fit_automl(df, config)
    replayed = {row.model: row.to_dict() for row in result.leaderboard}
    rows = []
    for name, old in recorded.items():
        new = replayed.get(name)
        complete = old.get("status") == "ok"
        note = None
        if new is not None and new.get("params") != old.get("params"):
            # A blend averages whichever models the time budget let finish; without a budget the
            # replay may blend others. Its members' own fold scores are compared row by row.
            same, note = None, "depends on the time budget: members differ"
        else:
            same = new is not None and _same_folds(old["fold_scores"], new["fold_scores"], complete)
        rows.append(
            {
                "model": name,
                "status": old.get("status"),
                "recorded": old["mean"].get(run.metric),
                "replayed": new["mean"].get(run.metric) if new else None,
                "match": same,
                "note": note,
            }
        )
    compared = [r["match"] for r in rows if r["match"] is not None]
    return {
        "run_id": run_id,
        "metric": run.metric,
        "rows": rows,
        "match": bool(compared) and all(compared),
    }


def _same_folds(a: dict[str, list], b: dict[str, list], complete: bool, tol: float = 1e-9) -> bool:
    """Fold scores agree; a row the budget cut short need only agree on the folds it recorded."""
    for metric, vals in a.items():
        other = b.get(metric, [])
        if len(other) < len(vals) or (complete and len(other) != len(vals)):
            return False
        for x, y in zip(vals, other[: len(vals)], strict=True):
            if (x is None) != (y is None) or (x is not None and abs(x - y) > tol):
                return False
    return True
