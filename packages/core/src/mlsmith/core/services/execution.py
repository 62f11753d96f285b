"""Execute one training run: the task every compute runs (``execute_run``).

Ownership: the job lease says which worker may execute; the run row follows by compare-and-set.
The leaderboard so far is saved after every model, so a cancelled, timed-out or crashed run keeps
its partial results. Artifacts go under ``runs/<id>/attempt-<n>/``; the attempt that wins the final
``running -> succeeded`` transition commits its artifact rows, a loser deletes its files.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from typing import TYPE_CHECKING, Any

from mlsmith.core import cancellation, serialization
from mlsmith.core.domain import RunStatus, utcnow
from mlsmith.core.errors import MlsmithError
from mlsmith.core.services import artifacts, datasets

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

log = logging.getLogger(__name__)
_CANCEL_POLL_S = 0.5


def execute_run(backends: Backends, run_id: str) -> None:
    with backends.metadata.unit_of_work() as uow:
        run = uow.runs.get(run_id)
        if run.status.terminal:
            return
        attempt = run.attempt + 1
        if run.cancel_requested:
            uow.runs.transition(run_id, (run.status,), RunStatus.CANCELLED, finished_at=utcnow())
            uow.events.append(run_id, "status", {"status": "cancelled"})
            return
        if not uow.runs.transition(
            run_id,
            (RunStatus.QUEUED, RunStatus.RUNNING),  # RUNNING: an earlier attempt's worker died
            RunStatus.RUNNING,
            attempt=attempt,
            stage="loading",
            started_at=utcnow(),
            error=None,
        ):
            return
        uow.events.append(run_id, "status", {"status": "running", "attempt": attempt})
    backends.notifier.publish("run.started", {"run_id": run_id, "attempt": attempt})
    try:
        _train(backends, run_id, attempt)
    except Exception as exc:  # a run must end in a state, whatever broke
        msg = exc.message if isinstance(exc, MlsmithError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, MlsmithError):
            log.exception("run %s failed", run_id)
        _finish(backends, run_id, RunStatus.FAILED, error=msg[:2000])


def _train(backends: Backends, run_id: str, attempt: int) -> None:
    from mlsmith.core.engine import TrainConfig, fit_automl

    with backends.metadata.unit_of_work() as uow:
        run = uow.runs.get(run_id)
        ds = uow.datasets.get(run.dataset_id)
    df = datasets.load_frame(backends, ds)
    s = run.settings
    config = TrainConfig(
        target=run.target,
        task=run.task,
        metric=run.metric,
        folds=s.get("folds", 5),
        time_budget_s=s.get("time_budget_s"),
        seed=s.get("seed", 0),
        tune_top_k=s.get("tune_top_k", 0),
        candidates=s.get("candidates"),
    )
    recorder = _Recorder(backends, run_id)
    result = fit_automl(df, config, on_event=recorder, should_stop=recorder.should_stop)
    manifest = {
        "dataset_id": ds.id,
        "dataset_sha256": ds.sha256,
        "target": run.target,
        "settings": s,
        "attempt": attempt,
        "engine": result.manifest,
        "python": platform.python_version(),
    }
    board = [row.to_dict() for row in result.leaderboard]
    if recorder.cancelled:
        if recorder.user_cancelled():
            _finish(backends, run_id, RunStatus.CANCELLED, leaderboard=board, manifest=manifest)
        else:  # stopped without a cancel request: the worker is shutting down
            requeue(backends, run_id)
        return
    if result.best_pipeline is None:
        _finish(
            backends,
            run_id,
            RunStatus.FAILED,
            error="no candidate model completed",
            leaderboard=board,
        )
        return
    pipe_name, pipe_bytes = serialization.dump_pipeline(result.best_pipeline)
    events = _events_jsonl(backends, run_id)
    files = {
        pipe_name: pipe_bytes,
        "leaderboard.json": json.dumps(board, indent=2).encode(),
        "schema.json": json.dumps(result.schema, indent=2, default=str).encode(),
        "run_manifest.json": json.dumps(manifest, indent=2, default=str).encode(),
        "events.jsonl": events,
    }
    with backends.metadata.unit_of_work() as uow:
        run = uow.runs.get(run_id)
    arts = artifacts.write_artifacts(
        backends, run, attempt, files, {"libraries": result.manifest.get("versions", {})}
    )
    won = _finish(
        backends,
        run_id,
        RunStatus.SUCCEEDED,
        leaderboard=board,
        manifest=manifest,
        task=result.task,
        metric=result.metric,
        best_model=result.leaderboard[0].model if result.leaderboard else None,
        progress=100.0,
        artifacts_rows=arts,
        schema=result.schema,
    )
    if not won:  # another attempt (or a cancel) got there first: leave no orphan files
        backends.blobs.delete_prefix(artifacts.attempt_prefix(run_id, attempt))


def requeue(backends: Backends, run_id: str) -> bool:
    """Hand a running run back to the queue (its worker is shutting down): the next worker starts
    it again from the beginning as a new attempt."""
    with backends.metadata.unit_of_work() as uow:
        won = uow.runs.transition(
            run_id,
            (RunStatus.RUNNING,),
            RunStatus.QUEUED,
            stage="queued",
            progress=0.0,
            leaderboard=[],
            started_at=None,
        )
        if won:
            uow.events.append(run_id, "status", {"status": "queued", "reason": "worker shutdown"})
    return won


def _finish(backends: Backends, run_id: str, status: RunStatus, **fields: Any) -> bool:
    arts = fields.pop("artifacts_rows", [])
    schema = fields.pop("schema", None)
    if schema is not None:
        fields["manifest"] = {**fields.get("manifest", {}), "schema": schema}
    with backends.metadata.unit_of_work() as uow:
        won = uow.runs.transition(
            run_id, (RunStatus.RUNNING,), status, stage=status.value, finished_at=utcnow(), **fields
        )
        if won:
            for art in arts:
                uow.artifacts.add(art)
            uow.events.append(
                run_id, "status", {"status": status.value, "error": fields.get("error")}
            )
    if won:
        backends.notifier.publish(f"run.{status.value}", {"run_id": run_id})
    return won


def _events_jsonl(backends: Backends, run_id: str) -> bytes:
    with backends.metadata.unit_of_work() as uow:
        evs = uow.events.list(run_id, limit=1_000_000)
    lines = (
        json.dumps({"seq": e.seq, "ts": e.ts.isoformat(), "kind": e.kind, "payload": e.payload})
        for e in evs
    )
    return ("\n".join(lines) + "\n").encode()


class _Recorder:
    """Engine callback: events into the DB, the leaderboard after every model, cancel polling."""

    def __init__(self, backends: Backends, run_id: str) -> None:
        self.backends = backends
        self.run_id = run_id
        self.cancelled = False
        self._next_poll = 0.0

    def __call__(self, event: Any) -> None:
        with self.backends.metadata.unit_of_work() as uow:
            uow.events.append(self.run_id, event.kind, event.payload)
            changes = self._run_changes(event)
            if changes:  # conditional update of these fields only: never clobbers a cancel flag
                uow.runs.transition(self.run_id, (RunStatus.RUNNING,), RunStatus.RUNNING, **changes)

    @staticmethod
    def _run_changes(event: Any) -> dict[str, Any]:
        p = event.payload
        if event.kind == "stage":
            return {"stage": p["stage"]}
        if event.kind == "progress":
            return {"progress": float(p["progress"])}
        if event.kind == "plan":
            return {"task": p["task"], "metric": p["metric"]}
        if event.kind == "model":
            return {"leaderboard": p["leaderboard"]}
        return {}

    def user_cancelled(self) -> bool:
        """Whether someone asked to cancel the run (as opposed to the worker stopping it)."""
        with self.backends.metadata.unit_of_work(read_only=True) as uow:
            return uow.runs.get(self.run_id).cancel_requested

    def should_stop(self) -> bool:
        if cancellation.requested():
            self.cancelled = True
        elif time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + _CANCEL_POLL_S
            with self.backends.metadata.unit_of_work() as uow:
                self.cancelled = uow.runs.get(self.run_id).cancel_requested
        return self.cancelled
