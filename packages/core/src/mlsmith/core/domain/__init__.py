"""Domain entities and value objects (stdlib dataclasses; no I/O)."""

from mlsmith.core.domain.entities import (
    Artifact,
    Dataset,
    Job,
    JobStatus,
    Model,
    ModelVersion,
    Run,
    RunEvent,
    RunStatus,
    Workspace,
)
from mlsmith.core.domain.ids import new_id, utcnow

__all__ = [
    "Artifact",
    "Dataset",
    "Job",
    "JobStatus",
    "Model",
    "ModelVersion",
    "Run",
    "RunEvent",
    "RunStatus",
    "Workspace",
    "new_id",
    "utcnow",
]
