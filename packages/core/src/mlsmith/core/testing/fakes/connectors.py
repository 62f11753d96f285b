"""``FakeConnector``: an in-memory data-source connector (kind ``fake``) for service and API tests.

Tables are CSV bytes by name; config needs ``endpoint``, credentials need ``token``, a request names
a ``table``. It keeps the credentials it was last given, so tests can see what reached it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, BinaryIO

from mlsmith.core.errors import InvalidInput, NotFound


class FakeConnector:
    kind = "fake"

    def __init__(self, tables: Mapping[str, bytes] | None = None) -> None:
        self.tables = dict(tables or {})
        self.seen_credentials: dict[str, Any] | None = None

    def validate(self, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
        if set(config) != {"endpoint"} or not isinstance(config["endpoint"], str):
            raise InvalidInput("config needs exactly a string 'endpoint'")
        if set(credentials) != {"token"} or not isinstance(credentials["token"], str):
            raise InvalidInput("credentials need exactly a string 'token'")

    def fetch(
        self,
        config: Mapping[str, Any],
        credentials: Mapping[str, Any],
        request: Mapping[str, Any],
    ) -> BinaryIO:
        self.validate(config, credentials)
        self.seen_credentials = dict(credentials)
        table = request.get("table")
        if not isinstance(table, str):
            raise InvalidInput("the request needs a 'table'")
        if table not in self.tables:
            raise NotFound(f"table {table!r} not found", table=table)
        return io.BytesIO(self.tables[table])


def use_connector(monkeypatch: Any, connector: Any, kind: str = "fake") -> None:
    """Make ``services.data_sources`` resolve ``kind`` to ``connector`` for one test (other kinds
    still resolve through the entry points)."""
    from mlsmith.core.services import data_sources

    real = data_sources.connector_for

    def connector_for(backends: Any, k: str) -> Any:
        return connector if k == kind else real(backends, k)

    monkeypatch.setattr(data_sources, "connector_for", connector_for)
