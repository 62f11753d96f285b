"""Domain entities and value objects (stdlib dataclasses; no I/O)."""

from mlsmith.core.domain.catalog import (
    AuthMode,
    DataSource,
    Deployment,
    Experiment,
    Project,
    Report,
    ReportStatus,
)
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
from mlsmith.core.domain.identity import (
    ApiKey,
    Membership,
    RefreshStatus,
    RefreshToken,
    Role,
    User,
)
from mlsmith.core.domain.ids import new_id, utcnow

__all__ = [
    "ApiKey",
    "Artifact",
    "AuthMode",
    "DataSource",
    "Dataset",
    "Deployment",
    "Experiment",
    "Job",
    "JobStatus",
    "Membership",
    "Model",
    "ModelVersion",
    "Project",
    "RefreshStatus",
    "RefreshToken",
    "Report",
    "ReportStatus",
    "Role",
    "Run",
    "RunEvent",
    "RunStatus",
    "User",
    "Workspace",
    "new_id",
    "utcnow",
]
