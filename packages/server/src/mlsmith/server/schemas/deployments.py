"""HTTP shapes of deployments, their predictions and their stats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlsmith.core.domain import AuthMode, Deployment
from mlsmith.core.services.deployment_stats import StatsSnapshot

API_PREFIX = "/api/v1"


class DeploymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(max_length=64, description="^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$, global")
    model: str = Field(min_length=1, max_length=128, description="model name in the workspace")
    version: int | None = Field(default=None, ge=1, description="pin a version")
    alias: str | None = Field(default=None, max_length=63, description="follow an alias")
    auth_mode: AuthMode = AuthMode.WORKSPACE


class DeploymentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1)
    alias: str | None = Field(default=None, max_length=63)
    auth_mode: AuthMode | None = None


class DeploymentOut(BaseModel):
    id: str
    workspace_id: str
    slug: str
    model_id: str
    model: str
    version: int | None
    alias: str | None
    auth_mode: AuthMode
    created_by: str | None
    created_at: datetime
    predict_url: str

    @classmethod
    def from_domain(cls, d: Deployment, model_name: str) -> DeploymentOut:
        return cls(
            id=d.id,
            workspace_id=d.workspace_id,
            slug=d.slug,
            model_id=d.model_id,
            model=model_name,
            version=d.version,
            alias=d.alias,
            auth_mode=d.auth_mode,
            created_by=d.created_by,
            created_at=d.created_at,
            predict_url=f"{API_PREFIX}/deployments/{d.slug}/predict",
        )


class PredictIn(BaseModel):
    """Documents the JSON body; a bare list of rows and a ``text/csv`` body are accepted too."""

    rows: list[dict[str, Any]]


class PredictOut(BaseModel):
    model: str
    version: int
    predictions: list[Any]
    probabilities: list[dict[str, float]] | None = Field(
        default=None, description="per row, class -> probability (classifiers only)"
    )
    warnings: list[str]


class LatencyOut(BaseModel):
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


class StatsOut(BaseModel):
    slug: str
    requests: int
    errors: int
    rows: int
    latency_ms: LatencyOut
    window: int = Field(description="how many recent calls the latency percentiles cover")
    since: datetime = Field(
        description="counters are per server process, since its first call here"
    )
    last_request_at: datetime | None

    @classmethod
    def from_domain(cls, slug: str, s: StatsSnapshot) -> StatsOut:
        return cls(
            slug=slug,
            requests=s.requests,
            errors=s.errors,
            rows=s.rows,
            latency_ms=LatencyOut(**s.latency_ms),
            window=s.window,
            since=s.since,
            last_request_at=s.last_request_at,
        )
