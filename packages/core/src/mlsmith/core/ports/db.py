"""DB port: repositories for every entity behind a unit of work (one transaction).

Usage::

    with backends.metadata.unit_of_work() as uow:
        run = uow.runs.get(run_id)
        run.stage = "training"
        uow.runs.save(run)
    # committed on a clean exit, rolled back on an exception

Repositories return copies: changing an entity changes nothing until ``save``. ``get`` raises
NotFound; ``add`` raises AlreadyExists on a duplicate id or natural key.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from mlsmith.core.domain import (
    ApiKey,
    Artifact,
    Dataset,
    DataSource,
    Deployment,
    Experiment,
    Membership,
    Model,
    ModelVersion,
    Project,
    RefreshStatus,
    RefreshToken,
    Report,
    Run,
    RunEvent,
    RunStatus,
    User,
    Workspace,
)


class WorkspaceRepo(Protocol):
    def add(self, ws: Workspace) -> None:
        """AlreadyExists when the name is taken."""
        ...

    def get(self, ws_id: str) -> Workspace: ...
    def get_by_name(self, name: str) -> Workspace: ...
    def list(self) -> list[Workspace]: ...
    def save(self, ws: Workspace) -> None:
        """Rename: AlreadyExists when the new name is taken, NotFound when it was deleted."""
        ...

    def delete(self, ws_id: str) -> None:
        """Delete the row (services refuse while it still holds objects)."""
        ...


class DatasetRepo(Protocol):
    def add(self, ds: Dataset) -> None: ...
    def get(self, ds_id: str) -> Dataset: ...
    def list(self, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Dataset]: ...
    def delete(self, ds_id: str) -> None: ...


class RunRepo(Protocol):
    def add(self, run: Run) -> None: ...
    def get(self, run_id: str) -> Run: ...

    def list(
        self,
        workspace_id: str,
        *,
        status: RunStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Run]:
        """Newest first."""
        ...

    def save(self, run: Run) -> None:
        """Overwrite every field of an existing run. NotFound if it was deleted."""
        ...

    def transition(
        self, run_id: str, expected: tuple[RunStatus, ...], new: RunStatus, **fields: Any
    ) -> bool:
        """Compare-and-set: set ``status=new`` (and ``fields``) only if the current status is one of
        ``expected``. Returns whether it happened. This is how ownership of a run is decided."""
        ...

    def count_active(self, *, created_by: str) -> int:
        """Runs of this user that are queued or running (the per-user concurrency limit)."""
        ...

    def list_active(self, *, limit: int = 1000) -> list[Run]:
        """Queued or running runs of every workspace, oldest first (the reaper walks them)."""
        ...

    def request_cancel(self, run_id: str) -> bool:
        """Set ``cancel_requested`` on a non-terminal run; False when it is already terminal."""
        ...

    def delete(self, run_id: str) -> None:
        """Delete the run with its events and artifact rows."""
        ...


class RunEventRepo(Protocol):
    def append(self, run_id: str, kind: str, payload: dict[str, Any]) -> RunEvent:
        """Store an event with the next ``seq`` of that run (1, 2, 3 ...; no gaps, no duplicates
        under concurrent appends)."""
        ...

    def list(self, run_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[RunEvent]: ...


class ArtifactRepo(Protocol):
    def add(self, art: Artifact) -> None:
        """AlreadyExists when the run already has an artifact of that name."""
        ...

    def get(self, run_id: str, name: str) -> Artifact: ...
    def list(self, run_id: str) -> list[Artifact]: ...


class ModelRepo(Protocol):
    def add(self, model: Model) -> None:
        """AlreadyExists when the workspace already has a model of that name."""
        ...

    def get(self, model_id: str) -> Model: ...
    def get_by_name(self, workspace_id: str, name: str) -> Model: ...
    def list(self, workspace_id: str) -> list[Model]: ...

    def add_version(self, model_id: str, run_id: str, lineage: dict[str, Any]) -> ModelVersion:
        """Create the next version (max + 1, safe under concurrent promotes)."""
        ...

    def get_version(self, model_id: str, version: int) -> ModelVersion: ...
    def list_versions(self, model_id: str) -> list[ModelVersion]: ...

    def set_alias(self, model_id: str, alias: str, version: int) -> None:
        """Point (or move) ``alias`` at ``version``; NotFound if the version does not exist."""
        ...

    def resolve_alias(self, model_id: str, alias: str) -> int: ...
    def aliases(self, model_id: str) -> dict[str, int]: ...


class KeyRepo(Protocol):
    """Platform keys (artifact-signing, JWT), stored encrypted by the secrets port."""

    def get(self, name: str) -> bytes:
        """The stored ciphertext; NotFound when absent."""
        ...

    def add(self, name: str, ciphertext: bytes) -> None:
        """AlreadyExists when present: the first writer wins, later ones re-read."""
        ...


class UserRepo(Protocol):
    def add(self, user: User) -> None:
        """AlreadyExists when the (lower-cased) email is taken."""
        ...

    def get(self, user_id: str) -> User: ...
    def get_by_email(self, email: str) -> User: ...
    def list(self, *, limit: int = 100, offset: int = 0) -> list[User]:
        """Oldest first."""
        ...

    def save(self, user: User) -> None: ...
    def count(self) -> int: ...


class MembershipRepo(Protocol):
    def add(self, m: Membership) -> None:
        """AlreadyExists when the user is already a member of the workspace."""
        ...

    def get(self, workspace_id: str, user_id: str) -> Membership: ...
    def set_role(self, workspace_id: str, user_id: str, role: str) -> None: ...
    def remove(self, workspace_id: str, user_id: str) -> None: ...
    def list_for_workspace(self, workspace_id: str) -> list[Membership]: ...
    def list_for_user(self, user_id: str) -> list[Membership]: ...


class ApiKeyRepo(Protocol):
    def add(self, key: ApiKey) -> None: ...
    def get(self, key_id: str) -> ApiKey:
        """By the public ``key_id`` (NotFound when absent)."""
        ...

    def get_by_hash(self, secret_hash: str) -> ApiKey: ...
    def list_for_user(self, user_id: str) -> list[ApiKey]: ...
    def save(self, key: ApiKey) -> None: ...


class RefreshTokenRepo(Protocol):
    def add(self, token: RefreshToken) -> None: ...
    def get_by_hash(self, token_hash: str) -> RefreshToken: ...

    def mark(self, token_id: str, expected: RefreshStatus, new: RefreshStatus) -> bool:
        """Compare-and-set of one token's status: the atomic step of rotation."""
        ...

    def revoke_family(self, family_id: str) -> int: ...
    def revoke_user(self, user_id: str) -> int: ...


class ProjectRepo(Protocol):
    def add(self, p: Project) -> None:
        """AlreadyExists on a duplicate name in the workspace."""
        ...

    def get(self, project_id: str) -> Project: ...
    def list(self, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Project]: ...
    def save(self, p: Project) -> None: ...
    def delete(self, project_id: str) -> None: ...


class ExperimentRepo(Protocol):
    def add(self, e: Experiment) -> None:
        """AlreadyExists on a duplicate name in the project."""
        ...

    def get(self, experiment_id: str) -> Experiment: ...
    def list(self, project_id: str, *, limit: int = 100, offset: int = 0) -> list[Experiment]: ...
    def save(self, e: Experiment) -> None: ...
    def delete(self, experiment_id: str) -> None: ...


class DataSourceRepo(Protocol):
    def add(self, s: DataSource) -> None: ...
    def get(self, source_id: str) -> DataSource: ...
    def list(self, workspace_id: str) -> list[DataSource]: ...
    def delete(self, source_id: str) -> None: ...


class DeploymentRepo(Protocol):
    def add(self, d: Deployment) -> None:
        """AlreadyExists when the slug is taken (slugs are global)."""
        ...

    def get(self, deployment_id: str) -> Deployment: ...
    def get_by_slug(self, slug: str) -> Deployment: ...
    def list(self, workspace_id: str) -> list[Deployment]: ...
    def save(self, d: Deployment) -> None: ...
    def delete(self, deployment_id: str) -> None: ...


class ReportRepo(Protocol):
    def add(self, r: Report) -> None: ...
    def get(self, report_id: str) -> Report: ...
    def list(self, dataset_id: str) -> list[Report]: ...
    def save(self, r: Report) -> None: ...


@runtime_checkable
class UnitOfWork(Protocol):
    workspaces: WorkspaceRepo
    datasets: DatasetRepo
    runs: RunRepo
    events: RunEventRepo
    artifacts: ArtifactRepo
    models: ModelRepo
    keys: KeyRepo
    users: UserRepo
    memberships: MembershipRepo
    api_keys: ApiKeyRepo
    refresh_tokens: RefreshTokenRepo
    projects: ProjectRepo
    experiments: ExperimentRepo
    data_sources: DataSourceRepo
    deployments: DeploymentRepo
    reports: ReportRepo


@runtime_checkable
class MetadataStore(Protocol):
    def unit_of_work(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        """One transaction. ``read_only=True`` promises no writes: the store may then take no
        write lock (SQLite under WAL) or run a READ ONLY transaction (PostgreSQL), so hot read
        paths (authentication, serving, event streams) never queue behind writers."""
        ...

    def migrate(self) -> None:
        """Bring the schema to the newest version (idempotent)."""
        ...

    def ping(self) -> None: ...
    def close(self) -> None: ...
