"""Data sources: external tables (a PostgreSQL query, an S3 object) registered once per workspace
and snapshotted into datasets.

Credentials are validated by the source's connector, then encrypted through the secrets port under
the context ``{workspace_id, secret_id}`` (the source id), so a ciphertext copied to another source
or workspace does not decrypt. They are decrypted only inside ``snapshot``, handed to the connector
and never returned, logged or put in an error. A snapshot goes through the same path as an
untrusted upload (sniffing, size cap counted on the bytes read, sha256 in the same pass).

Connectors are adapters found by kind in the entry-point group ``mlsmith.connectors`` (see
``ports.connectors``); unlike the ports they are not chosen by configuration but by each source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from mlsmith.core.domain import Dataset, DataSource, Role
from mlsmith.core.errors import ConfigError, InvalidInput, PermissionDenied
from mlsmith.core.ports.connectors import CONNECTOR_GROUP, Connector
from mlsmith.core.services import datasets
from mlsmith.core.services.scope import Scope

if TYPE_CHECKING:
    from mlsmith.core.backends import Backends

MAX_NAME = 128
MAX_CONFIG_BYTES = 8 * 1024
MAX_CREDENTIALS_BYTES = 8 * 1024
MAX_REQUEST_BYTES = 64 * 1024


def installed_kinds() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=CONNECTOR_GROUP)})


@cache
def _factory(kind: str):
    for ep in entry_points(group=CONNECTOR_GROUP):
        if ep.name == kind:
            try:
                return ep.load()
            except ImportError as exc:
                raise ConfigError(
                    f"the {kind!r} connector failed to import ({exc}); install its dependencies",
                    kind=kind,
                ) from exc
    return None


def connector_for(backends: Backends, kind: str) -> Connector:
    """The connector of ``kind``, built for these backends' settings; InvalidInput if unknown."""
    factory = _factory(kind) if isinstance(kind, str) else None
    if factory is None:
        kinds = installed_kinds()
        raise InvalidInput(
            f"unknown data source kind {kind!r}; installed: {', '.join(kinds) or 'none'}",
            kind=str(kind)[:64],
            installed=kinds,
        )
    return factory(backends.settings)


def _require_member(scope: Scope) -> None:
    if scope.role is not None and not scope.role.at_least(Role.MEMBER):
        raise PermissionDenied(
            "managing data sources needs the member role", need="member", role=scope.role.value
        )


def _json_object(value: Any, what: str, limit: int) -> dict[str, Any]:
    """A JSON object of at most ``limit`` bytes. The message never echoes the value (it may be a
    secret)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a JSON object", field=what)
    try:
        size = len(json.dumps(dict(value)).encode())
    except (TypeError, ValueError, RecursionError):
        raise InvalidInput(f"{what} must hold JSON values only", field=what) from None
    if size > limit:
        raise InvalidInput(f"{what} exceeds {limit} bytes", field=what, max_bytes=limit)
    return json.loads(json.dumps(dict(value)))


def _context(source: DataSource) -> dict[str, str]:
    return {"workspace_id": source.workspace_id, "secret_id": source.id}


def create(
    backends: Backends,
    scope: Scope,
    *,
    name: str,
    kind: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, Any],
) -> DataSource:
    """Register a source: its connector validates config and credentials (no connection is
    made); the credentials are stored encrypted only. AlreadyExists on a taken name."""
    _require_member(scope)
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME or any(not ch.isprintable() for ch in name):
        raise InvalidInput(f"a data source name has 1 to {MAX_NAME} printable characters")
    config = _json_object(config, "config", MAX_CONFIG_BYTES)
    credentials = _json_object(credentials, "credentials", MAX_CREDENTIALS_BYTES)
    connector = connector_for(backends, kind)
    connector.validate(config, credentials)
    source = DataSource(
        workspace_id=scope.workspace_id, name=name, kind=kind, config=config, secret_ciphertext=b""
    )
    source.secret_ciphertext = backends.secrets.encrypt(
        json.dumps(credentials).encode(), context=_context(source)
    )
    with backends.metadata.unit_of_work() as uow:
        uow.data_sources.add(source)
    return source


def get(backends: Backends, scope: Scope, source_id: str) -> DataSource:
    """The source with its config; its credentials stay ciphertext (never decrypted here)."""
    with backends.metadata.unit_of_work(read_only=True) as uow:
        source = uow.data_sources.get(source_id)
    scope.check(source, "data_source", source_id)
    return source


def list_sources(backends: Backends, scope: Scope) -> list[DataSource]:
    with backends.metadata.unit_of_work(read_only=True) as uow:
        return uow.data_sources.list(scope.workspace_id)


def delete(backends: Backends, scope: Scope, source_id: str) -> None:
    """Forget a source and its credentials; datasets snapshotted from it stay."""
    source = get(backends, scope, source_id)
    _require_member(scope)
    with backends.metadata.unit_of_work() as uow:
        uow.data_sources.delete(source.id)


def snapshot(
    backends: Backends, scope: Scope, source_id: str, request: Mapping[str, Any]
) -> Dataset:
    """Read ``request`` (a query, an object key: the connector decides) from the source and ingest
    it as a new dataset, with the upload's sniffing and size cap."""
    source = get(backends, scope, source_id)
    _require_member(scope)
    request = _json_object(request, "request", MAX_REQUEST_BYTES)
    connector = connector_for(backends, source.kind)
    credentials = json.loads(
        backends.secrets.decrypt(source.secret_ciphertext, context=_context(source))
    )
    stream = connector.fetch(source.config, credentials, request)
    del credentials
    try:
        return datasets.ingest_upload(
            backends,
            scope,
            stream,
            filename=f"{datasets.sanitize_filename(source.name, 'source')}.csv",
            max_bytes=backends.settings.max_upload_bytes,
        )
    finally:
        stream.close()
