"""Shapes shared by every router: the error body and a page of a listing."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class ErrorOut(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. not_found")
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int


# The error statuses most routes can answer, for the OpenAPI (``responses=ERRORS``).
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "malformed request (a body that is not JSON)"),
        (401, "missing or invalid credentials"),
        (403, "not allowed"),
        (404, "not found (or not visible to you)"),
        (422, "invalid input"),
    )
}
