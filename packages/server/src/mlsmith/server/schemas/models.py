"""HTTP shapes of the model registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlsmith.core.domain import Model, ModelVersion


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    alias: str | None = Field(default=None, max_length=63)


class AliasIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1)


class ModelVersionOut(BaseModel):
    model_id: str
    model: str
    version: int
    run_id: str
    lineage: dict[str, Any]
    aliases: list[str]
    created_at: datetime

    @classmethod
    def from_domain(cls, m: Model, mv: ModelVersion, aliases: dict[str, int]) -> ModelVersionOut:
        return cls(
            model_id=m.id,
            model=m.name,
            version=mv.version,
            run_id=mv.run_id,
            lineage=mv.lineage,
            aliases=sorted(a for a, v in aliases.items() if v == mv.version),
            created_at=mv.created_at,
        )


class ModelOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    description: str
    latest_version: int | None
    aliases: dict[str, int]
    created_at: datetime

    @classmethod
    def from_domain(cls, m: Model, versions: list[ModelVersion], aliases: dict) -> ModelOut:
        return cls(
            id=m.id,
            workspace_id=m.workspace_id,
            name=m.name,
            description=m.description,
            latest_version=max((v.version for v in versions), default=None),
            aliases=dict(aliases),
            created_at=m.created_at,
        )
