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
    ApiKey,
    Artifact,
    AuthMode,
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
    ReportStatus,
    Role,
    Run,
    RunEvent,
    RunStatus,
    User,
    Workspace,
    utcnow,
)
from mlsmith.core.errors import InvalidInput, NotFound

_RUN_FIELDS = [f.name for f in fields(Run)]
_TERMINAL = [s.value for s in RunStatus if s.terminal]
_ACTIVE = [RunStatus.QUEUED.value, RunStatus.RUNNING.value]


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

    def _update(self, stmt: sa.Update) -> int:
        """An UPDATE that can hit a unique key (a renamed entity), in a SAVEPOINT like inserts."""
        try:
            with self._conn.begin_nested():
                return self._conn.execute(stmt).rowcount
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

    def save(self, ws: Workspace) -> None:
        stmt = t.workspaces.update().where(t.workspaces.c.id == ws.id).values(name=ws.name)
        if self._update(stmt) == 0:
            raise NotFound(f"workspace {ws.id} not found", id=ws.id)

    def delete(self, ws_id: str) -> None:
        if self._x(t.workspaces.delete().where(t.workspaces.c.id == ws_id)).rowcount == 0:
            raise NotFound(f"workspace {ws_id} not found", id=ws_id)


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

    def count_active(self, *, created_by: str) -> int:
        c = t.runs.c
        stmt = (
            sa.select(sa.func.count())
            .select_from(t.runs)
            .where(c.created_by == created_by, c.status.in_(_ACTIVE))
        )
        return int(self._x(stmt).scalar_one())

    def list_active(self, *, limit: int = 1000) -> list[Run]:
        c = t.runs.c
        stmt = (
            sa.select(*self._COLUMNS)
            .where(c.status.in_(_ACTIVE))
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
        return [self._entity(r) for r in self._x(stmt)]

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


class _EntityRepo(_Repo):
    """Plain CRUD of one dataclass per row, keyed by ``id``; enum fields are rebuilt on reads."""

    table: sa.Table
    entity: type[Any]
    what: str
    enums: dict[str, type[Any]] = {}

    def _row_entity(self, row: sa.Row[Any]) -> Any:
        values = dict(row._mapping)
        for name, enum in self.enums.items():
            values[name] = enum(values[name])
        return self.entity(**values)

    def _columns(self) -> list[sa.ColumnElement[Any]]:
        return [self.table.c[f.name] for f in fields(self.entity)]

    def _stored(self, obj: Any) -> dict[str, Any]:
        values = _values(obj)
        for name, enum in self.enums.items():
            values[name] = _enum(enum, values[name], name)
        return values

    def _add(self, obj: Any) -> None:
        self._insert(self.table, self._stored(obj))

    def _get_where(self, *where: sa.ColumnElement[bool], **ids: Any) -> Any:
        stmt = sa.select(*self._columns()).where(*where)
        return self._row_entity(self._one(stmt, self.what, **ids))

    def _get(self, obj_id: str) -> Any:
        return self._get_where(self.table.c.id == obj_id, id=obj_id)

    def _list(
        self,
        *where: sa.ColumnElement[bool],
        order: list[sa.ColumnElement[Any]],
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        stmt = sa.select(*self._columns()).where(*where).order_by(*order)
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        return [self._row_entity(r) for r in self._x(stmt)]

    def _save(self, obj: Any) -> None:
        values = self._stored(obj)
        del values["id"]
        stmt = self.table.update().where(self.table.c.id == obj.id).values(**values)
        if self._update(stmt) == 0:
            raise NotFound(f"{self.what} not found", id=obj.id)

    def _delete(self, obj_id: str) -> None:
        if self._x(self.table.delete().where(self.table.c.id == obj_id)).rowcount == 0:
            raise NotFound(f"{self.what} not found", id=obj_id)


def _enum(enum: type[Any], value: Any, name: str) -> str:
    try:
        return str(enum(value).value)
    except ValueError:
        raise InvalidInput(f"invalid {name} {value!r}", field=name) from None


class SqlUserRepo(_EntityRepo):
    table, entity, what = t.users, User, "user"

    def _stored(self, obj: Any) -> dict[str, Any]:
        values = super()._stored(obj)
        values["email"] = values["email"].lower()
        return values

    def add(self, user: User) -> None:
        self._add(user)

    def get(self, user_id: str) -> User:
        return self._get(user_id)

    def get_by_email(self, email: str) -> User:
        email = email.lower()
        return self._get_where(t.users.c.email == email, email=email)

    def list(self, *, limit: int = 100, offset: int = 0) -> list[User]:
        c = t.users.c
        return self._list(order=[c.created_at, c.id], limit=limit, offset=offset)

    def save(self, user: User) -> None:
        self._save(user)

    def count(self) -> int:
        return int(self._x(sa.select(sa.func.count()).select_from(t.users)).scalar_one())


class SqlMembershipRepo(_EntityRepo):
    table, entity, what = t.memberships, Membership, "membership"
    enums = {"role": Role}

    def _key(self, workspace_id: str, user_id: str) -> list[sa.ColumnElement[bool]]:
        c = t.memberships.c
        return [c.workspace_id == workspace_id, c.user_id == user_id]

    def add(self, m: Membership) -> None:
        self._add(m)

    def get(self, workspace_id: str, user_id: str) -> Membership:
        where = self._key(workspace_id, user_id)
        return self._get_where(*where, workspace_id=workspace_id, user_id=user_id)

    def set_role(self, workspace_id: str, user_id: str, role: str) -> None:
        stmt = (
            t.memberships.update()
            .where(*self._key(workspace_id, user_id))
            .values(role=_enum(Role, role, "role"))
        )
        if self._x(stmt).rowcount == 0:
            raise NotFound("membership not found", workspace_id=workspace_id, user_id=user_id)

    def remove(self, workspace_id: str, user_id: str) -> None:
        stmt = t.memberships.delete().where(*self._key(workspace_id, user_id))
        if self._x(stmt).rowcount == 0:
            raise NotFound("membership not found", workspace_id=workspace_id, user_id=user_id)

    def list_for_workspace(self, workspace_id: str) -> list[Membership]:
        c = t.memberships.c
        return self._list(c.workspace_id == workspace_id, order=[c.created_at, c.user_id])

    def list_for_user(self, user_id: str) -> list[Membership]:
        c = t.memberships.c
        return self._list(c.user_id == user_id, order=[c.created_at, c.workspace_id])


class SqlApiKeyRepo(_EntityRepo):
    table, entity, what = t.api_keys, ApiKey, "api key"

    def add(self, key: ApiKey) -> None:
        self._add(key)

    def get(self, key_id: str) -> ApiKey:
        return self._get_where(t.api_keys.c.key_id == key_id, key_id=key_id)

    def get_by_hash(self, secret_hash: str) -> ApiKey:
        return self._get_where(t.api_keys.c.secret_hash == secret_hash)

    def list_for_user(self, user_id: str) -> list[ApiKey]:
        c = t.api_keys.c
        return self._list(c.user_id == user_id, order=[c.created_at, c.id])

    def save(self, key: ApiKey) -> None:
        self._save(key)


class SqlRefreshTokenRepo(_EntityRepo):
    table, entity, what = t.refresh_tokens, RefreshToken, "refresh token"
    enums = {"status": RefreshStatus}

    def add(self, token: RefreshToken) -> None:
        self._add(token)

    def get_by_hash(self, token_hash: str) -> RefreshToken:
        return self._get_where(t.refresh_tokens.c.token_hash == token_hash)

    def mark(self, token_id: str, expected: RefreshStatus, new: RefreshStatus) -> bool:
        # One conditional UPDATE decides the winner, as RunRepo.transition does.
        c = t.refresh_tokens.c
        stmt = (
            t.refresh_tokens.update()
            .where(c.id == token_id, c.status == _enum(RefreshStatus, expected, "status"))
            .values(status=_enum(RefreshStatus, new, "status"))
        )
        if self._x(stmt).rowcount == 1:
            return True
        if self._x(sa.select(c.id).where(c.id == token_id)).first() is None:
            raise NotFound("refresh token not found", id=token_id)
        return False

    def _revoke(self, where: sa.ColumnElement[bool]) -> int:
        c = t.refresh_tokens.c
        stmt = (
            t.refresh_tokens.update()
            .where(where, c.status == RefreshStatus.ACTIVE.value)
            .values(status=RefreshStatus.REVOKED.value)
        )
        return int(self._x(stmt).rowcount)

    def revoke_family(self, family_id: str) -> int:
        return self._revoke(t.refresh_tokens.c.family_id == family_id)

    def revoke_user(self, user_id: str) -> int:
        return self._revoke(t.refresh_tokens.c.user_id == user_id)


class SqlProjectRepo(_EntityRepo):
    table, entity, what = t.projects, Project, "project"

    def add(self, p: Project) -> None:
        self._add(p)

    def get(self, project_id: str) -> Project:
        return self._get(project_id)

    def list(self, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Project]:
        c = t.projects.c
        order = [c.created_at.desc(), c.id.desc()]
        return self._list(c.workspace_id == workspace_id, order=order, limit=limit, offset=offset)

    def save(self, p: Project) -> None:
        self._save(p)

    def delete(self, project_id: str) -> None:
        self._delete(project_id)


class SqlExperimentRepo(_EntityRepo):
    table, entity, what = t.experiments, Experiment, "experiment"

    def add(self, e: Experiment) -> None:
        self._add(e)

    def get(self, experiment_id: str) -> Experiment:
        return self._get(experiment_id)

    def list(self, project_id: str, *, limit: int = 100, offset: int = 0) -> list[Experiment]:
        c = t.experiments.c
        order = [c.created_at.desc(), c.id.desc()]
        return self._list(c.project_id == project_id, order=order, limit=limit, offset=offset)

    def save(self, e: Experiment) -> None:
        self._save(e)

    def delete(self, experiment_id: str) -> None:
        self._delete(experiment_id)


class SqlDataSourceRepo(_EntityRepo):
    table, entity, what = t.data_sources, DataSource, "data source"

    def _row_entity(self, row: sa.Row[Any]) -> Any:
        src = super()._row_entity(row)
        src.secret_ciphertext = bytes(src.secret_ciphertext)  # memoryview on some drivers
        return src

    def add(self, s: DataSource) -> None:
        self._add(s)

    def get(self, source_id: str) -> DataSource:
        return self._get(source_id)

    def list(self, workspace_id: str) -> list[DataSource]:
        c = t.data_sources.c
        return self._list(c.workspace_id == workspace_id, order=[c.name, c.id])

    def delete(self, source_id: str) -> None:
        self._delete(source_id)


class SqlDeploymentRepo(_EntityRepo):
    table, entity, what = t.deployments, Deployment, "deployment"
    enums = {"auth_mode": AuthMode}

    def add(self, d: Deployment) -> None:
        self._add(d)

    def get(self, deployment_id: str) -> Deployment:
        return self._get(deployment_id)

    def get_by_slug(self, slug: str) -> Deployment:
        return self._get_where(t.deployments.c.slug == slug, slug=slug)

    def list(self, workspace_id: str) -> list[Deployment]:
        c = t.deployments.c
        return self._list(c.workspace_id == workspace_id, order=[c.slug])

    def save(self, d: Deployment) -> None:
        self._save(d)

    def delete(self, deployment_id: str) -> None:
        self._delete(deployment_id)


class SqlReportRepo(_EntityRepo):
    table, entity, what = t.reports, Report, "report"
    enums = {"status": ReportStatus}

    def add(self, r: Report) -> None:
        self._add(r)

    def get(self, report_id: str) -> Report:
        return self._get(report_id)

    def list(self, dataset_id: str) -> list[Report]:
        c = t.reports.c
        return self._list(c.dataset_id == dataset_id, order=[c.created_at.desc(), c.id.desc()])

    def save(self, r: Report) -> None:
        self._save(r)


class SqlUnitOfWork:
    def __init__(self, conn: sa.Connection) -> None:
        self.workspaces = SqlWorkspaceRepo(conn)
        self.datasets = SqlDatasetRepo(conn)
        self.runs = SqlRunRepo(conn)
        self.events = SqlRunEventRepo(conn)
        self.artifacts = SqlArtifactRepo(conn)
        self.models = SqlModelRepo(conn)
        self.keys = SqlKeyRepo(conn)
        self.users = SqlUserRepo(conn)
        self.memberships = SqlMembershipRepo(conn)
        self.api_keys = SqlApiKeyRepo(conn)
        self.refresh_tokens = SqlRefreshTokenRepo(conn)
        self.projects = SqlProjectRepo(conn)
        self.experiments = SqlExperimentRepo(conn)
        self.data_sources = SqlDataSourceRepo(conn)
        self.deployments = SqlDeploymentRepo(conn)
        self.reports = SqlReportRepo(conn)


def _copy_json(doc: Any) -> Any:
    """A detached copy of a JSON document handed in, for the entity we return."""
    return copy.deepcopy(doc)
