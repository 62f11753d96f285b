"""Repositories of the DB port over one SQLAlchemy connection (one transaction = one unit of work).

Entities are rebuilt from rows on every read, so callers always get fresh copies. Inserts that can
hit a unique key run inside a SAVEPOINT: on PostgreSQL a failed statement would otherwise poison the
whole transaction, and callers are allowed to catch AlreadyExists and carry on (re-read).
"""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mlsmith.backends.local.db import tables as t
from mlsmith.backends.local.db.errors import translate
from mlsmith.core.domain import (
    Artifact,
    Dataset,
    Model,
    ModelVersion,
    Run,
    RunEvent,
    RunStatus,
    Workspace,
    utcnow,
)
from mlsmith.core.errors import InvalidInput, NotFound

_RUN_FIELDS = [f.name for f in fields(Run)]
_TERMINAL = [s.value for s in RunStatus if s.terminal]


def _values(entity: Any) -> dict[str, Any]:
    return {f.name: getattr(entity, f.name) for f in fields(entity)}


class _Repo:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def _x(self, stmt: sa.Executable) -> sa.CursorResult[Any]:
        try:
            return self._conn.execute(stmt)
        except sa.exc.SQLAlchemyError as exc:
            raise translate(exc) from exc

    def _insert(self, table: sa.Table, values: dict[str, Any]) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(table.insert().values(**values))
        except sa.exc.SQLAlchemyError as exc:
            raise translate(exc) from exc

    def _one(self, stmt: sa.Select[Any], what: str, **ids: Any) -> sa.Row[Any]:
        row = self._x(stmt).first()
        if row is None:
            raise NotFound(f"{what} not found", **ids)
        return row


class SqlWorkspaceRepo(_Repo):
    @staticmethod
    def _entity(row: sa.Row[Any]) -> Workspace:
        return Workspace(**row._mapping)

    def add(self, ws: Workspace) -> None:
        self._insert(t.workspaces, _values(ws))

    def get(self, ws_id: str) -> Workspace:
        stmt = t.workspaces.select().where(t.workspaces.c.id == ws_id)
        return self._entity(self._one(stmt, "workspace", id=ws_id))

    def get_by_name(self, name: str) -> Workspace:
        stmt = t.workspaces.select().where(t.workspaces.c.name == name)
        return self._entity(self._one(stmt, "workspace", name=name))

    def list(self) -> list[Workspace]:
        c = t.workspaces.c
        stmt = t.workspaces.select().order_by(c.created_at, c.id)
        return [self._entity(r) for r in self._x(stmt)]


class SqlDatasetRepo(_Repo):
    @staticmethod
    def _entity(row: sa.Row[Any]) -> Dataset:
        return Dataset(**row._mapping)

    def add(self, ds: Dataset) -> None:
        self._insert(t.datasets, _values(ds))

    def get(self, ds_id: str) -> Dataset:
        stmt = t.datasets.select().where(t.datasets.c.id == ds_id)
        return self._entity(self._one(stmt, "dataset", id=ds_id))

    def list(self, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Dataset]:
        c = t.datasets.c
        stmt = (
            t.datasets.select()
            .where(c.workspace_id == workspace_id)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [self._entity(r) for r in self._x(stmt)]

    def delete(self, ds_id: str) -> None:
        if self._x(t.datasets.delete().where(t.datasets.c.id == ds_id)).rowcount == 0:
            raise NotFound("dataset not found", id=ds_id)


class SqlRunRepo(_Repo):
    _COLUMNS = [t.runs.c[name] for name in _RUN_FIELDS]

    @staticmethod
    def _entity(row: sa.Row[Any]) -> Run:
        values = dict(row._mapping)
        values["status"] = RunStatus(values["status"])
        return Run(**values)

    def _exists(self, run_id: str) -> bool:
        stmt = sa.select(t.runs.c.id).where(t.runs.c.id == run_id)
        return self._x(stmt).first() is not None

    def add(self, run: Run) -> None:
        self._insert(t.runs, _values(run))

    def get(self, run_id: str) -> Run:
        stmt = sa.select(*self._COLUMNS).where(t.runs.c.id == run_id)
        return self._entity(self._one(stmt, "run", id=run_id))

    def list(
        self,
        workspace_id: str,
        *,
        status: RunStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Run]:
        c = t.runs.c
        stmt = sa.select(*self._COLUMNS).where(c.workspace_id == workspace_id)
        if status is not None:
            stmt = stmt.where(c.status == RunStatus(status).value)
        stmt = stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit).offset(offset)
        return [self._entity(r) for r in self._x(stmt)]

    def save(self, run: Run) -> None:
        values = _values(run)
        del values["id"]
        stmt = t.runs.update().where(t.runs.c.id == run.id).values(**values)
        if self._x(stmt).rowcount == 0:
            raise NotFound("run not found", id=run.id)

    def transition(
        self, run_id: str, expected: tuple[RunStatus, ...], new: RunStatus, **fields: Any
    ) -> bool:
        unknown = set(fields) - (set(_RUN_FIELDS) - {"id", "status"})
        if unknown:
            raise InvalidInput(f"unknown run fields {sorted(unknown)}", fields=sorted(unknown))
        # One conditional UPDATE: the database decides the winner (on PostgreSQL a concurrent
        # updater re-checks the WHERE clause after the first one commits).
        stmt = (
            t.runs.update()
            .where(
                t.runs.c.id == run_id, t.runs.c.status.in_([RunStatus(s).value for s in expected])
            )
            .values(status=RunStatus(new).value, **fields)
        )
        if self._x(stmt).rowcount == 1:
            return True
        if not self._exists(run_id):
            raise NotFound("run not found", id=run_id)
        return False

    def request_cancel(self, run_id: str) -> bool:
        stmt = (
            t.runs.update()
            .where(t.runs.c.id == run_id, t.runs.c.status.not_in(_TERMINAL))
            .values(cancel_requested=True)
        )
        if self._x(stmt).rowcount == 1:
            return True
        if not self._exists(run_id):
            raise NotFound("run not found", id=run_id)
        return False

    def delete(self, run_id: str) -> None:
        # Explicit child deletes: correct even where ON DELETE CASCADE is not enforced.
        self._x(t.run_events.delete().where(t.run_events.c.run_id == run_id))
        self._x(t.artifacts.delete().where(t.artifacts.c.run_id == run_id))
        if self._x(t.runs.delete().where(t.runs.c.id == run_id)).rowcount == 0:
            raise NotFound("run not found", id=run_id)


class SqlRunEventRepo(_Repo):
    def append(self, run_id: str, kind: str, payload: dict[str, Any]) -> RunEvent:
        # Bumping the counter row-locks the run until commit: concurrent appenders queue up
        # behind it, and a rolled-back append gives its number back (no gaps).
        bump = (
            t.runs.update()
            .where(t.runs.c.id == run_id)
            .values(last_event_seq=t.runs.c.last_event_seq + 1)
            .returning(t.runs.c.last_event_seq)
        )
        seq = self._x(bump).scalar_one_or_none()
        if seq is None:
            raise NotFound("run not found", id=run_id)
        event = RunEvent(run_id=run_id, seq=seq, kind=kind, payload=payload, ts=utcnow())
        self._x(t.run_events.insert().values(**_values(event)))
        return RunEvent(run_id=run_id, seq=seq, kind=kind, payload=_copy_json(payload), ts=event.ts)

    def list(self, run_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[RunEvent]:
        c = t.run_events.c
        stmt = (
            t.run_events.select()
            .where(c.run_id == run_id, c.seq > after_seq)
            .order_by(c.seq)
            .limit(limit)
        )
        return [RunEvent(**r._mapping) for r in self._x(stmt)]


class SqlArtifactRepo(_Repo):
    def add(self, art: Artifact) -> None:
        self._insert(t.artifacts, _values(art))

    def get(self, run_id: str, name: str) -> Artifact:
        c = t.artifacts.c
        stmt = t.artifacts.select().where(c.run_id == run_id, c.name == name)
        return Artifact(**self._one(stmt, "artifact", run_id=run_id, name=name)._mapping)

    def list(self, run_id: str) -> list[Artifact]:
        c = t.artifacts.c
        stmt = t.artifacts.select().where(c.run_id == run_id).order_by(c.created_at, c.name)
        return [Artifact(**r._mapping) for r in self._x(stmt)]


class SqlModelRepo(_Repo):
    _COLUMNS = [t.models.c[f.name] for f in fields(Model)]

    def add(self, model: Model) -> None:
        self._insert(t.models, _values(model))

    def get(self, model_id: str) -> Model:
        stmt = sa.select(*self._COLUMNS).where(t.models.c.id == model_id)
        return Model(**self._one(stmt, "model", id=model_id)._mapping)

    def get_by_name(self, workspace_id: str, name: str) -> Model:
        c = t.models.c
        stmt = sa.select(*self._COLUMNS).where(c.workspace_id == workspace_id, c.name == name)
        return Model(**self._one(stmt, "model", name=name)._mapping)

    def list(self, workspace_id: str) -> list[Model]:
        c = t.models.c
        stmt = sa.select(*self._COLUMNS).where(c.workspace_id == workspace_id).order_by(c.name)
        return [Model(**r._mapping) for r in self._x(stmt)]

    def add_version(self, model_id: str, run_id: str, lineage: dict[str, Any]) -> ModelVersion:
        # Same row-locked counter as event seqs: concurrent promotes get distinct numbers.
        bump = (
            t.models.update()
            .where(t.models.c.id == model_id)
            .values(last_version=t.models.c.last_version + 1)
            .returning(t.models.c.last_version)
        )
        version = self._x(bump).scalar_one_or_none()
        if version is None:
            raise NotFound("model not found", id=model_id)
        mv = ModelVersion(model_id=model_id, version=version, run_id=run_id, lineage=lineage)
        self._x(t.model_versions.insert().values(**_values(mv)))
        return ModelVersion(**{**_values(mv), "lineage": _copy_json(lineage)})

    def get_version(self, model_id: str, version: int) -> ModelVersion:
        c = t.model_versions.c
        stmt = t.model_versions.select().where(c.model_id == model_id, c.version == version)
        row = self._one(stmt, "model version", model_id=model_id, version=version)
        return ModelVersion(**row._mapping)

    def list_versions(self, model_id: str) -> list[ModelVersion]:
        c = t.model_versions.c
        stmt = t.model_versions.select().where(c.model_id == model_id).order_by(c.version)
        return [ModelVersion(**r._mapping) for r in self._x(stmt)]

    def set_alias(self, model_id: str, alias: str, version: int) -> None:
        self.get_version(model_id, version)
        insert = postgresql.insert if self._conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(t.model_aliases).values(model_id=model_id, alias=alias, version=version)
        stmt = stmt.on_conflict_do_update(
            index_elements=["model_id", "alias"], set_={"version": version}
        )
        self._x(stmt)

    def resolve_alias(self, model_id: str, alias: str) -> int:
        c = t.model_aliases.c
        stmt = sa.select(c.version).where(c.model_id == model_id, c.alias == alias)
        return int(self._one(stmt, "model alias", model_id=model_id, alias=alias).version)

    def aliases(self, model_id: str) -> dict[str, int]:
        c = t.model_aliases.c
        stmt = sa.select(c.alias, c.version).where(c.model_id == model_id)
        return {r.alias: int(r.version) for r in self._x(stmt)}


class SqlKeyRepo(_Repo):
    def get(self, name: str) -> bytes:
        c = t.platform_keys.c
        row = self._one(sa.select(c.ciphertext).where(c.name == name), "platform key", name=name)
        return bytes(row.ciphertext)

    def add(self, name: str, ciphertext: bytes) -> None:
        self._insert(
            t.platform_keys, {"name": name, "ciphertext": ciphertext, "created_at": utcnow()}
        )


class SqlUnitOfWork:
    def __init__(self, conn: sa.Connection) -> None:
        self.workspaces = SqlWorkspaceRepo(conn)
        self.datasets = SqlDatasetRepo(conn)
        self.runs = SqlRunRepo(conn)
        self.events = SqlRunEventRepo(conn)
        self.artifacts = SqlArtifactRepo(conn)
        self.models = SqlModelRepo(conn)
        self.keys = SqlKeyRepo(conn)


def _copy_json(doc: Any) -> Any:
    """A detached copy of a JSON document handed in, for the entity we return."""
    return copy.deepcopy(doc)
