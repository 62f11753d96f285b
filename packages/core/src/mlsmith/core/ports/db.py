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
    Artifact,
    Dataset,
    Model,
    ModelVersion,
    Run,
    RunEvent,
    RunStatus,
    Workspace,
)


class WorkspaceRepo(Protocol):
    def add(self, ws: Workspace) -> None:
        """AlreadyExists when the name is taken."""
        ...

    def get(self, ws_id: str) -> Workspace: ...
    def get_by_name(self, name: str) -> Workspace: ...
    def list(self) -> list[Workspace]: ...


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


@runtime_checkable
class UnitOfWork(Protocol):
    workspaces: WorkspaceRepo
    datasets: DatasetRepo
    runs: RunRepo
    events: RunEventRepo
    artifacts: ArtifactRepo
    models: ModelRepo
    keys: KeyRepo


@runtime_checkable
class MetadataStore(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...

    def migrate(self) -> None:
        """Bring the schema to the newest version (idempotent)."""
        ...

    def ping(self) -> None: ...
    def close(self) -> None: ...
