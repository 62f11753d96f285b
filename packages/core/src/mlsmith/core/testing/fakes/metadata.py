"""``InMemoryMetadataStore``: the DB port in plain dicts, for core unit tests.

A unit of work holds one re-entrant lock for its whole duration (like SQLite's single writer) and
snapshots the state on entry, so rollback is "put the snapshot back". Everything handed in or out is
deep-copied, which gives the "repositories return copies" rule for free.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

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
from mlsmith.core.errors import AlreadyExists, BackendUnavailable, InvalidInput, NotFound

_RUN_FIELDS = {f.name for f in fields(Run)} - {"id"}
_ACTIVE_RUN = (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass
class _State:
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    events: dict[str, list[RunEvent]] = field(default_factory=dict)  # run id -> events
    artifacts: dict[tuple[str, str], Artifact] = field(default_factory=dict)  # (run, name)
    models: dict[str, Model] = field(default_factory=dict)
    versions: dict[str, list[ModelVersion]] = field(default_factory=dict)  # model id -> versions
    aliases: dict[str, dict[str, int]] = field(default_factory=dict)  # model id -> alias -> v
    keys: dict[str, bytes] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    memberships: dict[tuple[str, str], Membership] = field(default_factory=dict)  # (ws, user)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)  # id -> key
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    data_sources: dict[str, DataSource] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)


def _c(obj: Any) -> Any:
    return copy.deepcopy(obj)


def _utc(value: Any) -> Any:
    """Datetimes are stored as UTC instants, as the SQL adapters do (naive means UTC)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _in(entity: Any) -> Any:
    """The copy the store keeps of an entity handed in."""
    kept = copy.deepcopy(entity)
    for f in fields(kept):
        setattr(kept, f.name, _utc(getattr(kept, f.name)))
    return kept


class _Workspaces:
    def __init__(self, s: _State) -> None:
        self._s = s

    def add(self, ws: Workspace) -> None:
        if ws.id in self._s.workspaces:
            raise AlreadyExists(f"workspace {ws.id} exists", id=ws.id)
        if any(w.name == ws.name for w in self._s.workspaces.values()):
            raise AlreadyExists(f"workspace name {ws.name!r} is taken", name=ws.name)
        self._s.workspaces[ws.id] = _in(ws)

    def get(self, ws_id: str) -> Workspace:
        if ws_id not in self._s.workspaces:
            raise NotFound(f"workspace {ws_id} not found", id=ws_id)
        return _c(self._s.workspaces[ws_id])

    def get_by_name(self, name: str) -> Workspace:
        for ws in self._s.workspaces.values():
            if ws.name == name:
                return _c(ws)
        raise NotFound(f"workspace {name!r} not found", name=name)

    def list(self) -> list[Workspace]:
        return _c(sorted(self._s.workspaces.values(), key=lambda w: (w.created_at, w.id)))

    def save(self, ws: Workspace) -> None:
        self.get(ws.id)
        if any(w.name == ws.name and w.id != ws.id for w in self._s.workspaces.values()):
            raise AlreadyExists(f"workspace name {ws.name!r} is taken", name=ws.name)
        self._s.workspaces[ws.id] = _in(ws)

    def delete(self, ws_id: str) -> None:
        self.get(ws_id)
        del self._s.workspaces[ws_id]


class _Datasets:
    def __init__(self, s: _State) -> None:
        self._s = s

    def add(self, ds: Dataset) -> None:
        if ds.id in self._s.datasets:
            raise AlreadyExists(f"dataset {ds.id} exists", id=ds.id)
        self._s.datasets[ds.id] = _in(ds)

    def get(self, ds_id: str) -> Dataset:
        if ds_id not in self._s.datasets:
            raise NotFound(f"dataset {ds_id} not found", id=ds_id)
        return _c(self._s.datasets[ds_id])

    def list(self, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Dataset]:
        mine = [d for d in self._s.datasets.values() if d.workspace_id == workspace_id]
        mine.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return _c(mine[offset : offset + limit])

    def delete(self, ds_id: str) -> None:
        if self._s.datasets.pop(ds_id, None) is None:
            raise NotFound(f"dataset {ds_id} not found", id=ds_id)


class _Runs:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _live(self, run_id: str) -> Run:
        if run_id not in self._s.runs:
            raise NotFound(f"run {run_id} not found", id=run_id)
        return self._s.runs[run_id]

    def add(self, run: Run) -> None:
        if run.id in self._s.runs:
            raise AlreadyExists(f"run {run.id} exists", id=run.id)
        self._s.runs[run.id] = _in(run)

    def get(self, run_id: str) -> Run:
        return _c(self._live(run_id))

    def list(
        self,
        workspace_id: str,
        *,
        status: RunStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Run]:
        mine = [
            r
            for r in self._s.runs.values()
            if r.workspace_id == workspace_id and (status is None or r.status == status)
        ]
        mine.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return _c(mine[offset : offset + limit])

    def save(self, run: Run) -> None:
        self._live(run.id)
        self._s.runs[run.id] = _in(run)

    def transition(
        self, run_id: str, expected: tuple[RunStatus, ...], new: RunStatus, **fields: Any
    ) -> bool:
        unknown = set(fields) - _RUN_FIELDS
        if unknown:
            raise InvalidInput(f"unknown run fields {sorted(unknown)}", fields=sorted(unknown))
        run = self._live(run_id)
        if run.status not in expected:
            return False
        run.status = RunStatus(new)
        for name, value in fields.items():
            setattr(run, name, _utc(_c(value)))
        return True

    def count_active(self, *, created_by: str) -> int:
        return sum(
            1
            for r in self._s.runs.values()
            if r.created_by == created_by and r.status in _ACTIVE_RUN
        )

    def list_active(self, *, limit: int = 1000) -> list[Run]:
        live = [r for r in self._s.runs.values() if r.status in _ACTIVE_RUN]
        live.sort(key=lambda r: (r.created_at, r.id))
        return _c(live[:limit])

    def request_cancel(self, run_id: str) -> bool:
        run = self._live(run_id)
        if run.status.terminal:
            return False
        run.cancel_requested = True
        return True

    def delete(self, run_id: str) -> None:
        self._live(run_id)
        del self._s.runs[run_id]
        self._s.events.pop(run_id, None)
        for key in [k for k in self._s.artifacts if k[0] == run_id]:
            del self._s.artifacts[key]


class _Events:
    def __init__(self, s: _State) -> None:
        self._s = s

    def append(self, run_id: str, kind: str, payload: dict[str, Any]) -> RunEvent:
        if run_id not in self._s.runs:
            raise NotFound(f"run {run_id} not found", id=run_id)
        events = self._s.events.setdefault(run_id, [])
        event = RunEvent(run_id=run_id, seq=len(events) + 1, kind=kind, payload=_c(payload))
        events.append(event)
        return _c(event)

    def list(self, run_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[RunEvent]:
        events = [e for e in self._s.events.get(run_id, []) if e.seq > after_seq]
        return _c(events[:limit])


class _Artifacts:
    def __init__(self, s: _State) -> None:
        self._s = s

    def add(self, art: Artifact) -> None:
        if art.run_id not in self._s.runs:
            raise NotFound(f"run {art.run_id} not found", id=art.run_id)
        key = (art.run_id, art.name)
        if key in self._s.artifacts or any(a.id == art.id for a in self._s.artifacts.values()):
            raise AlreadyExists(f"run {art.run_id} already has {art.name!r}", name=art.name)
        self._s.artifacts[key] = _in(art)

    def get(self, run_id: str, name: str) -> Artifact:
        if (run_id, name) not in self._s.artifacts:
            raise NotFound(f"run {run_id} has no artifact {name!r}", run_id=run_id, name=name)
        return _c(self._s.artifacts[(run_id, name)])

    def list(self, run_id: str) -> list[Artifact]:
        mine = [a for (r, _), a in self._s.artifacts.items() if r == run_id]
        return _c(sorted(mine, key=lambda a: (a.created_at, a.name)))


class _Models:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _version(self, model_id: str, version: int) -> ModelVersion:
        for v in self._s.versions.get(model_id, []):
            if v.version == version:
                return v
        raise NotFound(f"model {model_id} has no version {version}", id=model_id, version=version)

    def add(self, model: Model) -> None:
        if model.id in self._s.models:
            raise AlreadyExists(f"model {model.id} exists", id=model.id)
        if any(
            m.workspace_id == model.workspace_id and m.name == model.name
            for m in self._s.models.values()
        ):
            raise AlreadyExists(f"model name {model.name!r} is taken", name=model.name)
        self._s.models[model.id] = _in(model)

    def get(self, model_id: str) -> Model:
        if model_id not in self._s.models:
            raise NotFound(f"model {model_id} not found", id=model_id)
        return _c(self._s.models[model_id])

    def get_by_name(self, workspace_id: str, name: str) -> Model:
        for m in self._s.models.values():
            if m.workspace_id == workspace_id and m.name == name:
                return _c(m)
        raise NotFound(f"model {name!r} not found", name=name)

    def list(self, workspace_id: str) -> list[Model]:
        mine = [m for m in self._s.models.values() if m.workspace_id == workspace_id]
        return _c(sorted(mine, key=lambda m: (m.name, m.id)))

    def add_version(self, model_id: str, run_id: str, lineage: dict[str, Any]) -> ModelVersion:
        self.get(model_id)
        versions = self._s.versions.setdefault(model_id, [])
        mv = ModelVersion(
            model_id=model_id,
            version=len(versions) + 1,
            run_id=run_id,
            lineage=_c(lineage),
            created_at=utcnow(),
        )
        versions.append(mv)
        return _c(mv)

    def get_version(self, model_id: str, version: int) -> ModelVersion:
        return _c(self._version(model_id, version))

    def list_versions(self, model_id: str) -> list[ModelVersion]:
        return _c(self._s.versions.get(model_id, []))

    def set_alias(self, model_id: str, alias: str, version: int) -> None:
        self._version(model_id, version)
        self._s.aliases.setdefault(model_id, {})[alias] = version

    def resolve_alias(self, model_id: str, alias: str) -> int:
        try:
            return self._s.aliases[model_id][alias]
        except KeyError:
            raise NotFound(f"model {model_id} has no alias {alias!r}", alias=alias) from None

    def aliases(self, model_id: str) -> dict[str, int]:
        return dict(self._s.aliases.get(model_id, {}))


class _Keys:
    def __init__(self, s: _State) -> None:
        self._s = s

    def get(self, name: str) -> bytes:
        if name not in self._s.keys:
            raise NotFound(f"platform key {name!r} not found", name=name)
        return self._s.keys[name]

    def add(self, name: str, ciphertext: bytes) -> None:
        if name in self._s.keys:
            raise AlreadyExists(f"platform key {name!r} exists", name=name)
        self._s.keys[name] = bytes(ciphertext)


def _missing(what: str, key: str, **info: Any) -> NotFound:
    return NotFound(f"{what} {key} not found", **info)


def _enum(enum: type[Any], value: Any, name: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(f"invalid {name} {value!r}", field=name) from None


class _Users:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _check_email(self, user: User) -> None:
        for other in self._s.users.values():
            if other.id != user.id and other.email == user.email.lower():
                raise AlreadyExists(f"email {user.email!r} is taken", email=user.email.lower())

    def _keep(self, user: User) -> None:
        kept = _in(user)
        kept.email = kept.email.lower()
        self._s.users[kept.id] = kept

    def add(self, user: User) -> None:
        if user.id in self._s.users:
            raise AlreadyExists(f"user {user.id} exists", id=user.id)
        self._check_email(user)
        self._keep(user)

    def get(self, user_id: str) -> User:
        if user_id not in self._s.users:
            raise _missing("user", user_id, id=user_id)
        return _c(self._s.users[user_id])

    def get_by_email(self, email: str) -> User:
        for u in self._s.users.values():
            if u.email == email.lower():
                return _c(u)
        raise NotFound("user not found", email=email.lower())

    def list(self, *, limit: int = 100, offset: int = 0) -> list[User]:
        every = sorted(self._s.users.values(), key=lambda u: (u.created_at, u.id))
        return _c(every[offset : offset + limit])

    def save(self, user: User) -> None:
        self.get(user.id)
        self._check_email(user)
        self._keep(user)

    def count(self) -> int:
        return len(self._s.users)


class _Memberships:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _live(self, workspace_id: str, user_id: str) -> Membership:
        try:
            return self._s.memberships[(workspace_id, user_id)]
        except KeyError:
            raise NotFound(
                f"user {user_id} is not a member of {workspace_id}",
                workspace_id=workspace_id,
                user_id=user_id,
            ) from None

    def add(self, m: Membership) -> None:
        key = (m.workspace_id, m.user_id)
        if key in self._s.memberships:
            raise AlreadyExists(
                f"user {m.user_id} is already a member of {m.workspace_id}",
                workspace_id=m.workspace_id,
                user_id=m.user_id,
            )
        kept = _in(m)
        kept.role = _enum(Role, kept.role, "role")
        self._s.memberships[key] = kept

    def get(self, workspace_id: str, user_id: str) -> Membership:
        return _c(self._live(workspace_id, user_id))

    def set_role(self, workspace_id: str, user_id: str, role: str) -> None:
        new = _enum(Role, role, "role")
        self._live(workspace_id, user_id).role = new

    def remove(self, workspace_id: str, user_id: str) -> None:
        self._live(workspace_id, user_id)
        del self._s.memberships[(workspace_id, user_id)]

    def list_for_workspace(self, workspace_id: str) -> list[Membership]:
        mine = [m for m in self._s.memberships.values() if m.workspace_id == workspace_id]
        return _c(sorted(mine, key=lambda m: (m.created_at, m.user_id)))

    def list_for_user(self, user_id: str) -> list[Membership]:
        mine = [m for m in self._s.memberships.values() if m.user_id == user_id]
        return _c(sorted(mine, key=lambda m: (m.created_at, m.workspace_id)))


class _ApiKeys:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _check_unique(self, key: ApiKey) -> None:
        for other in self._s.api_keys.values():
            if other.id == key.id:
                continue
            if other.key_id == key.key_id:
                raise AlreadyExists(f"api key {key.key_id} exists", key_id=key.key_id)
            if other.secret_hash == key.secret_hash:
                raise AlreadyExists("api key secret hash exists")

    def add(self, key: ApiKey) -> None:
        if key.id in self._s.api_keys:
            raise AlreadyExists(f"api key {key.id} exists", id=key.id)
        self._check_unique(key)
        self._s.api_keys[key.id] = _in(key)

    def get(self, key_id: str) -> ApiKey:
        for k in self._s.api_keys.values():
            if k.key_id == key_id:
                return _c(k)
        raise _missing("api key", key_id, key_id=key_id)

    def get_by_hash(self, secret_hash: str) -> ApiKey:
        for k in self._s.api_keys.values():
            if k.secret_hash == secret_hash:
                return _c(k)
        raise NotFound("api key not found")

    def list_for_user(self, user_id: str) -> list[ApiKey]:
        mine = [k for k in self._s.api_keys.values() if k.user_id == user_id]
        return _c(sorted(mine, key=lambda k: (k.created_at, k.id)))

    def save(self, key: ApiKey) -> None:
        if key.id not in self._s.api_keys:
            raise _missing("api key", key.id, id=key.id)
        self._check_unique(key)
        self._s.api_keys[key.id] = _in(key)


class _RefreshTokens:
    def __init__(self, s: _State) -> None:
        self._s = s

    def add(self, token: RefreshToken) -> None:
        if token.id in self._s.refresh_tokens:
            raise AlreadyExists(f"refresh token {token.id} exists", id=token.id)
        if any(t.token_hash == token.token_hash for t in self._s.refresh_tokens.values()):
            raise AlreadyExists("refresh token hash exists")
        kept = _in(token)
        kept.status = _enum(RefreshStatus, kept.status, "status")
        self._s.refresh_tokens[kept.id] = kept

    def get_by_hash(self, token_hash: str) -> RefreshToken:
        for t in self._s.refresh_tokens.values():
            if t.token_hash == token_hash:
                return _c(t)
        raise NotFound("refresh token not found")

    def mark(self, token_id: str, expected: RefreshStatus, new: RefreshStatus) -> bool:
        token = self._s.refresh_tokens.get(token_id)
        if token is None:
            raise _missing("refresh token", token_id, id=token_id)
        if token.status != expected:
            return False
        token.status = _enum(RefreshStatus, new, "status")
        return True

    def _revoke(self, match: Any) -> int:
        n = 0
        for t in self._s.refresh_tokens.values():
            if match(t) and t.status == RefreshStatus.ACTIVE:
                t.status = RefreshStatus.REVOKED
                n += 1
        return n

    def revoke_family(self, family_id: str) -> int:
        return self._revoke(lambda t: t.family_id == family_id)

    def revoke_user(self, user_id: str) -> int:
        return self._revoke(lambda t: t.user_id == user_id)


class _Projects:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _check_name(self, p: Project) -> None:
        for o in self._s.projects.values():
            if o.id != p.id and o.workspace_id == p.workspace_id and o.name == p.name:
                raise AlreadyExists(f"project name {p.name!r} is taken", name=p.name)

    def add(self, p: Project) -> None:
        if p.id in self._s.projects:
            raise AlreadyExists(f"project {p.id} exists", id=p.id)
        self._check_name(p)
        self._s.projects[p.id] = _in(p)

    def get(self, project_id: str) -> Project:
        if project_id not in self._s.projects:
            raise _missing("project", project_id, id=project_id)
        return _c(self._s.projects[project_id])

    def list(self, workspace_id: str, *, limit: int = 100, offset: int = 0) -> list[Project]:
        mine = [p for p in self._s.projects.values() if p.workspace_id == workspace_id]
        mine.sort(key=lambda p: (p.created_at, p.id), reverse=True)
        return _c(mine[offset : offset + limit])

    def save(self, p: Project) -> None:
        self.get(p.id)
        self._check_name(p)
        self._s.projects[p.id] = _in(p)

    def delete(self, project_id: str) -> None:
        self.get(project_id)
        del self._s.projects[project_id]


class _Experiments:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _check_name(self, e: Experiment) -> None:
        for o in self._s.experiments.values():
            if o.id != e.id and o.project_id == e.project_id and o.name == e.name:
                raise AlreadyExists(f"experiment name {e.name!r} is taken", name=e.name)

    def add(self, e: Experiment) -> None:
        if e.id in self._s.experiments:
            raise AlreadyExists(f"experiment {e.id} exists", id=e.id)
        self._check_name(e)
        self._s.experiments[e.id] = _in(e)

    def get(self, experiment_id: str) -> Experiment:
        if experiment_id not in self._s.experiments:
            raise _missing("experiment", experiment_id, id=experiment_id)
        return _c(self._s.experiments[experiment_id])

    def list(self, project_id: str, *, limit: int = 100, offset: int = 0) -> list[Experiment]:
        mine = [e for e in self._s.experiments.values() if e.project_id == project_id]
        mine.sort(key=lambda e: (e.created_at, e.id), reverse=True)
        return _c(mine[offset : offset + limit])

    def save(self, e: Experiment) -> None:
        self.get(e.id)
        self._check_name(e)
        self._s.experiments[e.id] = _in(e)

    def delete(self, experiment_id: str) -> None:
        self.get(experiment_id)
        del self._s.experiments[experiment_id]


class _DataSources:
    def __init__(self, s: _State) -> None:
        self._s = s

    def add(self, src: DataSource) -> None:
        if src.id in self._s.data_sources:
            raise AlreadyExists(f"data source {src.id} exists", id=src.id)
        for o in self._s.data_sources.values():
            if o.workspace_id == src.workspace_id and o.name == src.name:
                raise AlreadyExists(f"data source name {src.name!r} is taken", name=src.name)
        kept = _in(src)
        kept.secret_ciphertext = bytes(kept.secret_ciphertext)
        self._s.data_sources[src.id] = kept

    def get(self, source_id: str) -> DataSource:
        if source_id not in self._s.data_sources:
            raise _missing("data source", source_id, id=source_id)
        return _c(self._s.data_sources[source_id])

    def list(self, workspace_id: str) -> list[DataSource]:
        mine = [d for d in self._s.data_sources.values() if d.workspace_id == workspace_id]
        return _c(sorted(mine, key=lambda d: (d.name, d.id)))

    def delete(self, source_id: str) -> None:
        self.get(source_id)
        del self._s.data_sources[source_id]


class _Deployments:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _check_slug(self, d: Deployment) -> None:
        for o in self._s.deployments.values():
            if o.id != d.id and o.slug == d.slug:
                raise AlreadyExists(f"deployment slug {d.slug!r} is taken", slug=d.slug)

    def _keep(self, d: Deployment) -> None:
        kept = _in(d)
        kept.auth_mode = _enum(AuthMode, kept.auth_mode, "auth_mode")
        self._s.deployments[kept.id] = kept

    def add(self, d: Deployment) -> None:
        if d.id in self._s.deployments:
            raise AlreadyExists(f"deployment {d.id} exists", id=d.id)
        self._check_slug(d)
        self._keep(d)

    def get(self, deployment_id: str) -> Deployment:
        if deployment_id not in self._s.deployments:
            raise _missing("deployment", deployment_id, id=deployment_id)
        return _c(self._s.deployments[deployment_id])

    def get_by_slug(self, slug: str) -> Deployment:
        for d in self._s.deployments.values():
            if d.slug == slug:
                return _c(d)
        raise _missing("deployment", repr(slug), slug=slug)

    def list(self, workspace_id: str) -> list[Deployment]:
        mine = [d for d in self._s.deployments.values() if d.workspace_id == workspace_id]
        return _c(sorted(mine, key=lambda d: (d.slug, d.id)))

    def save(self, d: Deployment) -> None:
        self.get(d.id)
        self._check_slug(d)
        self._keep(d)

    def delete(self, deployment_id: str) -> None:
        self.get(deployment_id)
        del self._s.deployments[deployment_id]


class _Reports:
    def __init__(self, s: _State) -> None:
        self._s = s

    def _keep(self, r: Report) -> None:
        kept = _in(r)
        kept.status = _enum(ReportStatus, kept.status, "status")
        self._s.reports[kept.id] = kept

    def add(self, r: Report) -> None:
        if r.id in self._s.reports:
            raise AlreadyExists(f"report {r.id} exists", id=r.id)
        self._keep(r)

    def get(self, report_id: str) -> Report:
        if report_id not in self._s.reports:
            raise _missing("report", report_id, id=report_id)
        return _c(self._s.reports[report_id])

    def list(self, dataset_id: str) -> list[Report]:
        mine = [r for r in self._s.reports.values() if r.dataset_id == dataset_id]
        return _c(sorted(mine, key=lambda r: (r.created_at, r.id), reverse=True))

    def save(self, r: Report) -> None:
        self.get(r.id)
        self._keep(r)


class _UnitOfWork:
    def __init__(self, state: _State) -> None:
        self.workspaces = _Workspaces(state)
        self.datasets = _Datasets(state)
        self.runs = _Runs(state)
        self.events = _Events(state)
        self.artifacts = _Artifacts(state)
        self.models = _Models(state)
        self.keys = _Keys(state)
        self.users = _Users(state)
        self.memberships = _Memberships(state)
        self.api_keys = _ApiKeys(state)
        self.refresh_tokens = _RefreshTokens(state)
        self.projects = _Projects(state)
        self.experiments = _Experiments(state)
        self.data_sources = _DataSources(state)
        self.deployments = _Deployments(state)
        self.reports = _Reports(state)


class InMemoryMetadataStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._state = _State()

    @contextmanager
    def unit_of_work(self, *, read_only: bool = False) -> Iterator[_UnitOfWork]:
        with self._lock:
            snapshot = copy.deepcopy(self._state)
            try:
                yield _UnitOfWork(self._state)
                if read_only and self._state != snapshot:
                    # As the SQL stores do: a read-only unit of work that wrote fails, undone.
                    raise BackendUnavailable("write attempted in a read-only unit of work")
            except BaseException:
                # Restore in place: repos of an enclosing unit of work keep the same state object.
                for f in fields(_State):
                    setattr(self._state, f.name, getattr(snapshot, f.name))
                raise

    def migrate(self) -> None:
        """Nothing to migrate in memory."""

    def ping(self) -> None:
        """Always reachable."""

    def close(self) -> None:
        """Nothing to release."""
