"""Deployments: a model version or alias served under a global slug, with an auth mode.

A deployment that follows an alias is resolved **at request time** (``resolve_target``): moving
the alias re-points it with no redeploy. The pipeline cache is keyed by run id, so the new version
loads once on its first call while calls already under way finish on the old one.

The predict hot path reads the deployment row through a short in-process cache (``lookup``,
``LOOKUP_TTL_S``); writes through this module invalidate it at once in this process, other
processes see a change within the TTL. Nothing on the hot path writes to the database.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from typing import TYPE_CHECKING

from mlsmith.core.domain import AuthMode, Deployment, ModelVersion, Role, Run
from mlsmith.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from mlsmith.core.services import access, deployment_stats, prediction
from mlsmith.core.services.batching import default_batcher
from mlsmith.core.services.scope import Scope

if TYPE_CHECKING:
    import pandas as pd

    from mlsmith.core.backends import Backends
    from mlsmith.core.services.principals import Principal

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
DEFAULT_ALIAS = "champion"
LOOKUP_TTL_S = 1.5

_cache_lock = threading.Lock()
# metadata store -> slug -> (expires at, deployment); weak so that closed stores drop their cache
_cache: weakref.WeakKeyDictionary[object, dict[str, tuple[float, Deployment]]] = (
    weakref.WeakKeyDictionary()
)
_model_names: dict[str, str] = {}


def create(
    backends: Backends,
    scope: Scope,
    *,
    slug: str,
    model_name: str,
    version: int | None = None,
    alias: str | None = None,
    auth_mode: str | AuthMode = AuthMode.WORKSPACE,
    created_by: str | None = None,
) -> Deployment:
    """Deploy ``model_name`` at a pinned ``version`` or following ``alias`` (exactly one; with
    neither: the ``champion`` alias when the model has one, else its latest version, pinned)."""
    _check_can_write(scope)
    _check_slug(slug)
    mode = _auth_mode(auth_mode)
    _check_target_args(version, alias)
    with backends.metadata.unit_of_work() as uow:
        try:
            model = uow.models.get_by_name(scope.workspace_id, model_name)
        except NotFound:
            raise NotFound(f"model {model_name!r} not found", name=model_name) from None
        if version is None and alias is None:
            if DEFAULT_ALIAS in uow.models.aliases(model.id):
                alias = DEFAULT_ALIAS
            else:
                versions = uow.models.list_versions(model.id)
                if not versions:
                    raise Conflict(f"model {model_name!r} has no versions to deploy")
                version = max(v.version for v in versions)
        dep = Deployment(
            workspace_id=scope.workspace_id,
            slug=slug,
            model_id=model.id,
            version=version,
            alias=alias,
            auth_mode=mode,
            created_by=created_by if created_by is not None else scope.user_id,
        )
        _target_version(uow, dep, model.name)  # the target must resolve now
        try:
            uow.deployments.add(dep)
        except AlreadyExists:
            raise Conflict(f"deployment slug {slug!r} is taken", slug=slug) from None
    _invalidate(backends, slug)
    return dep


def list_deployments(backends: Backends, scope: Scope) -> list[Deployment]:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        return uow.deployments.list(scope.workspace_id)


def get_by_slug(backends: Backends, scope: Scope, slug: str) -> Deployment:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        dep = _by_slug(uow, slug)
    scope.check(dep, "deployment", slug)
    return dep


def scope_for(
    backends: Backends, principal: Principal, slug: str, need: Role = Role.VIEWER
) -> Scope:
    """The caller's scope in the workspace owning ``slug``; NotFound (worded like a missing
    deployment) when the caller cannot see it, PermissionDenied when their role is too low."""
    try:
        return access.scope_in(backends, principal, lookup(backends, slug).workspace_id, need)
    except NotFound:
        raise _not_found(slug) from None


def update(
    backends: Backends,
    scope: Scope,
    slug: str,
    *,
    version: int | None = None,
    alias: str | None = None,
    auth_mode: str | AuthMode | None = None,
) -> Deployment:
    """Re-point to a pinned ``version`` or to follow ``alias`` and/or change the auth mode."""
    _check_can_write(scope)
    if version is not None and alias is not None:
        raise InvalidInput("give either a version or an alias, not both")
    mode = _auth_mode(auth_mode) if auth_mode is not None else None
    with backends.metadata.unit_of_work() as uow:
        dep = _by_slug(uow, slug)
        scope.check(dep, "deployment", slug)
        if version is not None or alias is not None:
            dep.version, dep.alias = version, alias
            _check_target_args(version, alias)
            _target_version(uow, dep, uow.models.get(dep.model_id).name)
        if mode is not None:
            dep.auth_mode = mode
        uow.deployments.save(dep)
    _invalidate(backends, slug)
    return dep


def delete(backends: Backends, scope: Scope, slug: str) -> None:
    _check_can_write(scope)
    with backends.metadata.unit_of_work() as uow:
        dep = _by_slug(uow, slug)
        scope.check(dep, "deployment", slug)
        uow.deployments.delete(dep.id)
    _invalidate(backends, slug)
    deployment_stats.forget(dep.id)


def lookup(backends: Backends, slug: str) -> Deployment:
    """The deployment behind ``slug`` for the predict path, cached for ``LOOKUP_TTL_S``.
    Unscoped: call ``authorize_call`` before using it."""
    now = time.monotonic()
    with _cache_lock:
        entry = _cache.get(backends.metadata, {}).get(slug)
    if entry is not None and entry[0] > now:
        return entry[1]
    with backends.metadata.unit_of_work(read_only=True) as uow:
        dep = _by_slug(uow, slug)
    with _cache_lock:
        _cache.setdefault(backends.metadata, {})[slug] = (now + LOOKUP_TTL_S, dep)
    return dep


def authorize_call(backends: Backends, deployment: Deployment, principal: Principal | None) -> None:
    """May ``principal`` call this deployment's predict endpoint?

    public: anyone. workspace: any member of the deployment's workspace, by token or API key.
    api-key: only an API key valid for that workspace. Without credentials: Unauthenticated (401);
    a principal who cannot see the deployment: NotFound (404), as if it did not exist; a member
    using a token on an api-key deployment: PermissionDenied (403).
    """
    mode = AuthMode(deployment.auth_mode)
    if mode is AuthMode.PUBLIC:
        return
    if principal is None:
        raise Unauthenticated("this deployment needs credentials")
    try:
        access.scope_in(backends, principal, deployment.workspace_id, Role.VIEWER)
    except (NotFound, PermissionDenied):
        raise _not_found(deployment.slug) from None
    if mode is AuthMode.API_KEY and principal.api_key is None:
        raise PermissionDenied("this deployment accepts API keys only", auth_mode=mode.value)


def resolve_target(backends: Backends, deployment: Deployment) -> tuple[Run, ModelVersion]:
    """The run and model version the deployment serves *now* (an alias is looked up per call)."""
    with backends.metadata.unit_of_work(read_only=True) as uow:
        model = uow.models.get(deployment.model_id)
        mv = _target_version(uow, deployment, model.name)
        run = uow.runs.get(mv.run_id)
    _remember_name(model.id, model.name)
    return run, mv


def model_name(backends: Backends, deployment: Deployment) -> str:
    """The deployed model's name (model names never change: cached by model id)."""
    name = _model_names.get(deployment.model_id)
    if name is None:
        with backends.metadata.unit_of_work(read_only=True) as uow:
            name = uow.models.get(deployment.model_id).name
        _remember_name(deployment.model_id, name)
    return name


def _remember_name(model_id: str, name: str) -> None:
    if len(_model_names) > 10_000:
        _model_names.clear()
    _model_names[model_id] = name


def predict(
    backends: Backends, deployment: Deployment, df: pd.DataFrame
) -> tuple[pd.DataFrame, list[str], ModelVersion]:
    """Predictions (``prediction`` + ``proba_<class>`` columns), warnings, and the version used.
    Concurrent calls for the same version are micro-batched (``services.batching``)."""
    run, mv = resolve_target(backends, deployment)
    pipeline = prediction.load_pipeline(backends, run)  # verified, cached by run id
    frame, warnings = default_batcher.predict(run.id, pipeline, run.manifest["schema"], df)
    return frame, warnings, mv


def _target_version(uow, dep: Deployment, name: str) -> ModelVersion:
    if dep.alias is not None:
        try:
            number = uow.models.resolve_alias(dep.model_id, dep.alias)
        except NotFound:
            raise NotFound(f"model {name!r} has no alias {dep.alias!r}", alias=dep.alias) from None
    else:
        number = dep.version
    try:
        return uow.models.get_version(dep.model_id, number)
    except NotFound:
        raise NotFound(f"model {name!r} has no version {number}", version=number) from None


def _by_slug(uow, slug: str) -> Deployment:
    try:
        return uow.deployments.get_by_slug(slug)
    except NotFound:
        raise _not_found(slug) from None


def _not_found(slug: str) -> NotFound:
    return NotFound(f"deployment {slug!r} not found", kind="deployment", id=slug)


def _invalidate(backends: Backends, slug: str) -> None:
    with _cache_lock:
        _cache.get(backends.metadata, {}).pop(slug, None)


def _check_can_write(scope: Scope) -> None:
    if scope.role is not None and not scope.role.at_least(Role.MEMBER):
        raise PermissionDenied(
            "managing deployments needs the member role", need="member", role=scope.role.value
        )


def _check_slug(slug: str) -> None:
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise InvalidInput(
            f"invalid slug {slug!r}: 3-64 lower-case letters, digits or '-', "
            "starting and ending with a letter or digit",
            slug=slug,
        )


def _check_target_args(version: int | None, alias: str | None) -> None:
    if version is not None and alias is not None:
        raise InvalidInput("give either a version or an alias, not both")
    if version is not None and (isinstance(version, bool) or version < 1):
        raise InvalidInput(f"invalid version {version!r}", version=version)


def _auth_mode(value: str | AuthMode) -> AuthMode:
    try:
        return AuthMode(value)
    except ValueError:
        modes = ", ".join(m.value for m in AuthMode)
        raise InvalidInput(
            f"invalid auth mode {value!r}; one of {modes}", auth_mode=value
        ) from None
