"""What teams organise their work with: projects, experiments, data sources, deployments, reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mlsmith.core.domain.ids import new_id, utcnow


@dataclass(slots=True)
class Project:
    workspace_id: str
    name: str  # unique per workspace
    description: str = ""
    id: str = field(default_factory=lambda: new_id("prj"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class Experiment:
    workspace_id: str
    project_id: str
    name: str  # unique per project
    target: str
    task: str = "auto"
    settings: dict[str, Any] = field(
        default_factory=dict
    )  # default run options (metric, folds, ...)
    id: str = field(default_factory=lambda: new_id("exp"))
    created_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class DataSource:
    workspace_id: str
    name: str  # unique per workspace
    kind: str  # "s3" | "postgres"
    config: dict[str, Any]  # non-secret settings (bucket, host, database, ...)
    secret_ciphertext: bytes  # credentials, encrypted by the secrets port; never returned
    id: str = field(default_factory=lambda: new_id("src"))
    created_at: datetime = field(default_factory=utcnow)


class AuthMode(StrEnum):
    WORKSPACE = "workspace"  # any member of the workspace (token or API key)
    API_KEY = "api-key"  # an API key of the workspace only
    PUBLIC = "public"  # anyone


@dataclass(slots=True)
class Deployment:
    workspace_id: str
    slug: str  # globally unique, ^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$
    model_id: str
    version: int | None = None  # exactly one of version / alias is set
    alias: str | None = None  # an alias follows its moves: re-pointing needs no redeploy
    auth_mode: AuthMode = AuthMode.WORKSPACE
    created_by: str | None = None
    id: str = field(default_factory=lambda: new_id("dep"))
    created_at: datetime = field(default_factory=utcnow)


class ReportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(slots=True)
class Report:
    """An EDA profile of a dataset: JSON result in the row, HTML report as a stored artifact."""

    workspace_id: str
    dataset_id: str
    target: str | None = None
    status: ReportStatus = ReportStatus.QUEUED
    result: dict[str, Any] = field(default_factory=dict)
    html_key: str | None = None
    html_sha256: str | None = None
    error: str | None = None
    id: str = field(default_factory=lambda: new_id("rep"))
    created_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
