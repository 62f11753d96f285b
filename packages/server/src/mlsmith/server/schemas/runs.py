"""HTTP shapes of runs, their events, leaderboard, fold metrics and artifacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlsmith.core.domain import Artifact, Run, RunEvent


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str | None = Field(default=None, min_length=1, max_length=64)
    data_source_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="instead of dataset_id: snapshot this data source first",
    )
    source_request: dict[str, Any] | None = Field(
        default=None, description="with data_source_id: what to read (a query, an object key)"
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="run options replacing the experiment's: metric, folds, time_budget_s, seed, "
        "tune_top_k, candidates",
    )


class RunOut(BaseModel):
    id: str
    workspace_id: str
    experiment_id: str | None
    dataset_id: str
    target: str
    task: str
    metric: str | None
    settings: dict[str, Any]
    status: str
    stage: str
    progress: float
    best_model: str | None
    error: str | None
    cancel_requested: bool
    attempt: int
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_domain(cls, r: Run) -> RunOut:
        return cls(
            id=r.id,
            workspace_id=r.workspace_id,
            experiment_id=r.experiment_id,
            dataset_id=r.dataset_id,
            target=r.target,
            task=r.task,
            metric=r.metric,
            settings=r.settings,
            status=r.status.value,
            stage=r.stage,
            progress=r.progress,
            best_model=r.best_model,
            error=r.error,
            cancel_requested=r.cancel_requested,
            attempt=r.attempt,
            created_by=r.created_by,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
        )


class RunEventOut(BaseModel):
    seq: int
    kind: str
    payload: dict[str, Any]
    ts: datetime

    @classmethod
    def from_domain(cls, e: RunEvent) -> RunEventOut:
        return cls(seq=e.seq, kind=e.kind, payload=e.payload, ts=e.ts)


class EventsPageOut(BaseModel):
    items: list[RunEventOut]
    after: int
    next_after: int  # pass as ``after`` to get the next page
    limit: int


class FoldMetricsOut(BaseModel):
    model: str | None
    status: str | None
    fold_scores: dict[str, list[float | None]]
    mean: dict[str, float | None]
    std: dict[str, float | None]


class ArtifactOut(BaseModel):
    name: str
    sha256: str
    size_bytes: int
    created_at: datetime

    @classmethod
    def from_domain(cls, a: Artifact) -> ArtifactOut:
        return cls(name=a.name, sha256=a.sha256, size_bytes=a.size_bytes, created_at=a.created_at)
