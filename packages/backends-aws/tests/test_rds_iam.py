"""``postgresql+iam``: the SQL store on PostgreSQL with an IAM auth token as the password of every
new connection, against the machine's real PostgreSQL (trust auth ignores the token's value, so the
test checks that a signed token was generated and handed to the driver)."""

from __future__ import annotations

import os
import secrets

import pytest

from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.domain import Workspace
from mlsmith.core.errors import ConfigError
from mlsmith.core.settings import Settings

PG = os.environ.get(
    "MLSMITH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def schema_url(monkeypatch):
    psycopg = pytest.importorskip("psycopg")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    plain = PG.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable (local run): {exc}")
    schema = f"iam_{secrets.token_hex(5)}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PG.replace("postgresql+psycopg://", "postgresql+iam://") + (
            f"?sslmode=disable&options=-csearch_path%3D{schema}"
        )
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def test_iam_store_connects_with_a_fresh_signed_token(schema_url):
    import sqlalchemy as sa

    build = resolve_builder("db", schema_url)
    store = build(schema_url, {"region": "eu-west-1", "pool_size": 2}, BuildContext(Settings()))
    passwords: list[str] = []
    sa.event.listen(
        store.engine, "do_connect", lambda d, r, a, cparams: passwords.append(cparams["password"])
    )
    try:
        store.migrate()
        with store.unit_of_work() as uow:
            uow.workspaces.add(Workspace(name="rds"))
        with store.unit_of_work(read_only=True) as uow:
            assert [w.name for w in uow.workspaces.list()] == ["rds"]
    finally:
        store.close()
    assert passwords, "every new connection carries a token"
    token = passwords[0]
    assert token.startswith("127.0.0.1:5432/?Action=connect")
    assert "DBUser=postgres" in token and "X-Amz-Signature=" in token


def test_iam_url_with_a_password_is_refused():
    build = resolve_builder("db", "postgresql+iam://u:pw@db.example/x")
    with pytest.raises(ConfigError, match="must not carry a password"):
        build("postgresql+iam://u:pw@db.example/x", {}, None)
