"""Connectors: read a table from an external data source (a database, a bucket) as CSV bytes.

A connector is an adapter like the ports', found by its *kind* in the entry-point group
``mlsmith.connectors``; the entry point is a factory ``build(settings) -> Connector`` (it reads
``egress_allow_private`` and the size cap from the settings). Each data source names its kind, so
several connectors are in use at once; ``services.data_sources`` resolves them.

``config`` holds the source's non-secret settings (host, bucket, ...), ``credentials`` the decrypted
secrets and ``request`` what to read (a query, an object key). Connectors validate all three
strictly, connect only through the egress guard, and raise only ``mlsmith.core.errors``; their
messages never contain credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO, Protocol, runtime_checkable

CONNECTOR_GROUP = "mlsmith.connectors"


@runtime_checkable
class Connector(Protocol):
    def validate(self, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        """Check the shape of config and credentials (no network); InvalidInput otherwise."""
        ...

    def fetch(
        self,
        config: Mapping[str, Any],
        credentials: Mapping[str, Any],
        request: Mapping[str, Any],
    ) -> BinaryIO:
        """The requested table as UTF-8 CSV with a header row, readable once. InvalidInput for a
        bad or refused request, NotFound for a missing object, BackendUnavailable when the source
        cannot be reached."""
        ...


class ConnectorFactory(Protocol):
    def __call__(self, settings: Any) -> Connector: ...
