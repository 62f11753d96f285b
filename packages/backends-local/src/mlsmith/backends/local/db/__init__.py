"""SQL metadata store (SQLite or PostgreSQL) for the ``mlsmith.db`` entry points.

``build`` returns the store without migrating it; callers run ``store.migrate()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from mlsmith.backends.local.db.engine import create_engine
from mlsmith.backends.local.db.options import DbOptions
from mlsmith.backends.local.db.store import SqlMetadataStore
from mlsmith.core.backends import BuildContext
from mlsmith.core.errors import ConfigError

__all__ = ["DbOptions", "SqlMetadataStore", "build"]


def build(
    url: str, options: Mapping[str, Any], ctx: BuildContext | None = None
) -> SqlMetadataStore:
    try:
        opts = DbOptions.model_validate(dict(options))
    except ValidationError as exc:
        raise ConfigError(
            f"MLSMITH_DATABASE_OPTIONS: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}",
            setting="MLSMITH_DATABASE_OPTIONS",
        ) from exc
    return SqlMetadataStore(create_engine(url, opts))
