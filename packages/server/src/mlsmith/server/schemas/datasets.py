"""HTTP shapes of datasets. The storage key never leaves the server: clients address data by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from mlsmith.core.domain import Dataset


class ColumnOut(BaseModel):
    name: str
    dtype: str


class DatasetOut(BaseModel):
    id: str
    workspace_id: str
    name: str  # the uploaded file's sanitised name: metadata only
    sha256: str
    size_bytes: int
    n_rows: int
    n_cols: int
    columns: list[ColumnOut]
    created_at: datetime

    @classmethod
    def from_domain(cls, ds: Dataset) -> DatasetOut:
        return cls(
            id=ds.id,
            workspace_id=ds.workspace_id,
            name=ds.name,
            sha256=ds.sha256,
            size_bytes=ds.size_bytes,
            n_rows=ds.n_rows,
            n_cols=ds.n_cols,
            columns=[ColumnOut(name=c["name"], dtype=c["dtype"]) for c in ds.columns],
            created_at=ds.created_at,
        )


class PreviewOut(BaseModel):
    dataset_id: str
    n_rows: int
    n_cols: int
    columns: list[ColumnOut]
    rows: list[list[Any]]  # values in column order; null for missing
