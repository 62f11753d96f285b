"""Model registry: promote a succeeded run to a versioned model, aliases, and model references
(``name``, ``name@alias``, ``name:3``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlsmith.core.domain import Model, ModelVersion, RunStatus
from mlsmith.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from mlsmith.core.services.scope import Scope

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_REF = re.compile(r"^(?P<name>[^@:]+)(?:@(?P<alias>[^@:]+)|:(?P<version>\d+))?$")
LATEST = "latest"


@dataclass(frozen=True, slots=True)
class ResolvedVersion:
    model: Model
    version: ModelVersion
    aliases: tuple[str, ...]


def promote(
    backends: Backends, scope: Scope, run_id: str, name: str, *, alias: str | None = None
) -> ResolvedVersion:
    if not _NAME.match(name):
        raise InvalidInput(
            f"invalid model name {name!r}: letters, digits, '_', '.', '-' (max 128)", name=name
        )
    if alias is not None:
        _check_alias(alias)
    with backends.metadata.unit_of_work(read_only=True) as uow:
        run = uow.runs.get(run_id)
        scope.check(run, "run", run_id)
        if run.status is not RunStatus.SUCCEEDED:
            raise Conflict(
                f"run {run_id} is {run.status.value}; only succeeded runs can be promoted",
                run_id=run_id,
                status=run.status.value,
            )
        ds = uow.datasets.get(run.dataset_id)
    model = _get_or_create_model(backends, scope, name)
    lineage = {
        "run_id": run.id,
        "dataset_id": ds.id,
        "dataset_sha256": ds.sha256,
        "task": run.task,
        "metric": run.metric,
        "best_model": run.best_model,
        "score": _best_score(run),
        "libraries": {
            "python": run.manifest.get("python"),
            **run.manifest.get("engine", {}).get("versions", {}),
        },
    }
    with backends.metadata.unit_of_work() as uow:
        mv = uow.models.add_version(model.id, run.id, lineage)
        if alias:
            uow.models.set_alias(model.id, alias, mv.version)
        aliases = _aliases_of(uow, model.id, mv.version)
    return ResolvedVersion(model, mv, aliases)


def set_alias(backends: Backends, scope: Scope, ref: str, alias: str) -> ResolvedVersion:
    _check_alias(alias)
    rv = resolve(backends, scope, ref)
    with backends.metadata.unit_of_work() as uow:
        uow.models.set_alias(rv.model.id, alias, rv.version.version)
        aliases = _aliases_of(uow, rv.model.id, rv.version.version)
    return ResolvedVersion(rv.model, rv.version, aliases)


def resolve(backends: Backends, scope: Scope, ref: str) -> ResolvedVersion:
    """``name`` (latest version), ``name@alias`` or ``name:version``."""
    m = _REF.match(ref.strip())
    if not m:
        raise InvalidInput(f"invalid model reference {ref!r}; use NAME, NAME@ALIAS or NAME:VERSION")
    with backends.metadata.unit_of_work(read_only=True) as uow:
        model = _model_by_name(uow, scope, m["name"])
        if m["version"]:
            mv = uow.models.get_version(model.id, int(m["version"]))
        elif m["alias"] and m["alias"] != LATEST:
            try:
                mv = uow.models.get_version(
                    model.id, uow.models.resolve_alias(model.id, m["alias"])
                )
            except NotFound as exc:
                raise NotFound(f"model {model.name!r} has no alias {m['alias']!r}") from exc
        else:
            versions = uow.models.list_versions(model.id)
            if not versions:
                raise NotFound(f"model {model.name!r} has no versions")
            mv = max(versions, key=lambda v: v.version)
        return ResolvedVersion(model, mv, _aliases_of(uow, model.id, mv.version))


def list_models(
    backends: Backends, scope: Scope, *, limit: int | None = None, offset: int = 0
) -> list[tuple[Model, list[ModelVersion], dict]]:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        models = uow.models.list(scope.workspace_id)
        page = models[offset : None if limit is None else offset + limit]
        return [(m, uow.models.list_versions(m.id), uow.models.aliases(m.id)) for m in page]


def get_model(
    backends: Backends, scope: Scope, model_id: str
) -> tuple[Model, list[ModelVersion], dict]:
    """A model by id with its versions and aliases (NotFound for another workspace's model)."""
    with backends.metadata.unit_of_work(read_only=True) as uow:
        model = uow.models.get(model_id)
        scope.check(model, "model", model_id)
        return model, uow.models.list_versions(model.id), uow.models.aliases(model.id)


def set_alias_by_id(
    backends: Backends, scope: Scope, model_id: str, alias: str, version: int
) -> ResolvedVersion:
    """Point (or move) ``alias`` of model ``model_id`` at ``version``."""
    _check_alias(alias)
    with backends.metadata.unit_of_work() as uow:
        model = uow.models.get(model_id)
        scope.check(model, "model", model_id)
        mv = uow.models.get_version(model.id, version)
        uow.models.set_alias(model.id, alias, version)
        return ResolvedVersion(model, mv, _aliases_of(uow, model.id, version))


def show_model(
    backends: Backends, scope: Scope, name: str
) -> tuple[Model, list[ModelVersion], dict]:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        model = _model_by_name(uow, scope, name)
        return model, uow.models.list_versions(model.id), uow.models.aliases(model.id)


def _model_by_name(uow, scope: Scope, name: str) -> Model:
    try:
        return uow.models.get_by_name(scope.workspace_id, name)
    except NotFound as exc:
        raise NotFound(f"model {name!r} not found", name=name) from exc


def _get_or_create_model(backends: Backends, scope: Scope, name: str) -> Model:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        try:
            return uow.models.get_by_name(scope.workspace_id, name)
        except NotFound:
            pass
    try:
        with backends.metadata.unit_of_work() as uow:
            model = Model(workspace_id=scope.workspace_id, name=name)
            uow.models.add(model)
            return model
    except AlreadyExists:  # a concurrent promote created it
        with backends.metadata.unit_of_work(read_only=True) as uow:
            return uow.models.get_by_name(scope.workspace_id, name)


def _aliases_of(uow, model_id: str, version: int) -> tuple[str, ...]:
    return tuple(sorted(a for a, v in uow.models.aliases(model_id).items() if v == version))


def _check_alias(alias: str) -> None:
    if alias == LATEST or not _ALIAS.match(alias):
        raise InvalidInput(
            f"invalid alias {alias!r}: lower-case letters, digits, '_' or '-', not 'latest'",
            alias=alias,
        )


def _best_score(run) -> float | None:
    if not run.leaderboard or not run.metric:
        return None
    return run.leaderboard[0].get("mean", {}).get(run.metric)
