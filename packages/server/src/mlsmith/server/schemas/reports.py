"""HTTP shapes of EDA reports. The page's storage key never leaves the server: the page is read
through ``GET /reports/{id}/html``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mlsmith.core.domain import Report


class ProfileIn(BaseModel, extra="forbid"):
    target: str | None = Field(default=None, max_length=1024, description="a column of the dataset")


class ReportOut(BaseModel):
    id: str
    workspace_id: str
    dataset_id: str
    target: str | None
    status: str  # queued | running | succeeded | failed
    result: dict[str, Any]  # the profile once succeeded, else {}
    html_sha256: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_domain(cls, r: Report) -> ReportOut:
        return cls(
            id=r.id,
            workspace_id=r.workspace_id,
            dataset_id=r.dataset_id,
            target=r.target,
            status=r.status.value,
            result=r.result,
            html_sha256=r.html_sha256,
            error=r.error,
            created_at=r.created_at,
            finished_at=r.finished_at,
        )
