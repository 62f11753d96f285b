"""Shared fixtures of the local backends' tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _unreachable(reason: str) -> NoReturn:
    """Locally a missing service skips; in CI it is a failure, never a skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections live in a fresh schema of their own (dropped after).

    The schema is chosen through ``options=-csearch_path=...`` in the URL, which the adapters pass
    on to libpq, so the code under test needs no knowledge of it.
    """
    base = make_url(os.environ.get("MLSMITH_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(
        base, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unreachable(f"PostgreSQL at {base.render_as_string()} is unreachable: {exc.orig}")
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
