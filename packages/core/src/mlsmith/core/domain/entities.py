"""Entities of the platform. Plain mutable dataclasses: services change them, repositories save them.

Every object carries its ``workspace_id`` (directly or through its parent) so that services can
authorize each access against the owning workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mlsmith.core.domain.ids import new_id, utcnow


@dataclass(slots=True)
class Workspace:
    name: str
    id: str = field(default_factory=lambda: new_id("ws"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class Dataset:
    workspace_id: str
    name: str  # the user's file name: metadata only, never part of a storage key
    storage_key: str
    sha256: str
    size_bytes: int
    n_rows: int
    n_cols: int
    columns: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "dtype"}]
    id: str = field(default_factory=lambda: new_id("ds"))
    created_at: datetime = field(default_factory=utcnow)


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


@dataclass(slots=True)
class Run:
    workspace_id: str
    dataset_id: str
    target: str
    task: str = "auto"  # auto | binary | multiclass | regression (resolved value after start)
    metric: str | None = None  # None: the task's default metric
    settings: dict[str, Any] = field(default_factory=dict)  # folds, time_budget_s, seed, ...
    status: RunStatus = RunStatus.QUEUED
    stage: str = "queued"
    progress: float = 0.0  # 0..100
    leaderboard: list[dict[str, Any]] = field(default_factory=list)  # persisted after every model
    best_model: str | None = None
    error: str | None = None
    cancel_requested: bool = False
    attempt: int = 0
    manifest: dict[str, Any] = field(default_factory=dict)  # reproducibility manifest
    job_id: str | None = None
    experiment_id: str | None = None
    created_by: str | None = None  # user id; None for the embedded library and CLI
    id: str = field(default_factory=lambda: new_id("run"))
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class RunEvent:
    run_id: str
    seq: int  # 1, 2, 3 ... per run, assigned by the store
    kind: str  # stage | progress | model | log | status
    payload: dict[str, Any]
    ts: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class Artifact:
    run_id: str
    name: str  # e.g. "pipeline.skops", "leaderboard.json"
    storage_key: str
    sha256: str
    size_bytes: int
    id: str = field(default_factory=lambda: new_id("art"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class Model:
    workspace_id: str
    name: str
    description: str = ""
    id: str = field(default_factory=lambda: new_id("mdl"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class ModelVersion:
    model_id: str
    version: int  # assigned by the store: 1, 2, 3 ... per model
    run_id: str
    lineage: dict[str, Any] = field(default_factory=dict)  # dataset sha256, library versions, ...
    id: str = field(default_factory=lambda: new_id("mv"))
    created_at: datetime = field(default_factory=utcnow)


class JobStatus(StrEnum):
    QUEUED = "queued"
    LEASED = "leased"
    DONE = "done"
    DEAD = "dead"  # dead-lettered: attempts exhausted


@dataclass(slots=True)
class Job:
    kind: str  # e.g. "train"
    payload: dict[str, Any]  # JSON-serialisable
    max_attempts: int = 3
    status: JobStatus = JobStatus.QUEUED
    attempts: int = 0  # incremented by every claim
    lease_token: str | None = None  # changes on every claim; ack/nack/heartbeat must present it
    lease_until: datetime | None = None
    last_error: str | None = None
    id: str = field(default_factory=lambda: new_id("job"))
    created_at: datetime = field(default_factory=utcnow)
