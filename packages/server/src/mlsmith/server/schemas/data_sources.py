"""HTTP shapes of data sources. Credentials go in only: no response model has a field that could
carry them, not even their ciphertext."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlsmith.core.domain import DataSource


class DataSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    kind: str = Field(min_length=1, max_length=32, description="connector kind: postgres, s3")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="non-secret settings of the connector (host, database, bucket, prefix, ...)",
    )
    credentials: dict[str, Any] = Field(
        description="secrets of the connector (user/password, access keys); stored encrypted, "
        "never returned",
        json_schema_extra={"writeOnly": True},
    )


class DataSourceOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    kind: str
    config: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_domain(cls, s: DataSource) -> DataSourceOut:
        return cls(
            id=s.id,
            workspace_id=s.workspace_id,
            name=s.name,
            kind=s.kind,
            config=s.config,
            created_at=s.created_at,
        )


class SnapshotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request: dict[str, Any] = Field(
        description='what to read: {"query": "SELECT ..."} (postgres), {"key": "path/in/bucket.csv"}'
        " (s3)"
    )
