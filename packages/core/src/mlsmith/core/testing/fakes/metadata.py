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
from mlsmith.core.errors import AlreadyExists, InvalidInput, NotFound

_RUN_FIELDS = {f.name for f in fields(Run)} - {"id"}


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


class _UnitOfWork:
    def __init__(self, state: _State) -> None:
        self.workspaces = _Workspaces(state)
        self.datasets = _Datasets(state)
        self.runs = _Runs(state)
        self.events = _Events(state)
        self.artifacts = _Artifacts(state)
        self.models = _Models(state)
        self.keys = _Keys(state)


class InMemoryMetadataStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._state = _State()

    @contextmanager
    def unit_of_work(self) -> Iterator[_UnitOfWork]:
        with self._lock:
            snapshot = copy.deepcopy(self._state)
            try:
                yield _UnitOfWork(self._state)
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
