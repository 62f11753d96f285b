"""The Alembic baseline: builds the whole schema from empty, re-runs as a no-op, matches the table
metadata exactly, and tolerates several migrators at once — on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mlsmith.backends.local.db import SqlMetadataStore, build
from mlsmith.backends.local.db.migrate import MIGRATIONS
from mlsmith.backends.local.db.tables import metadata
from mlsmith.core.domain import Workspace
from mlsmith.core.testing.contracts.db import run_in_threads

EXPECTED_TABLES = {
    "workspaces",
    "datasets",
    "runs",
    "run_events",
    "artifacts",
    "models",
    "model_versions",
    "model_aliases",
    "platform_keys",
    "jobs",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm' / 'mlsmith.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def new_store(db_url: str) -> Iterator[Callable[[], SqlMetadataStore]]:
    stores: list[SqlMetadataStore] = []

    def make() -> SqlMetadataStore:
        stores.append(build(db_url, {}, None))
        return stores[-1]

    yield make
    for store in stores:
        store.close()


def _head() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def _current(store: SqlMetadataStore) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _tables(store: SqlMetadataStore) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names())


def test_there_is_a_single_baseline_revision() -> None:
    scripts = list((MIGRATIONS / "versions").glob("*.py"))
    assert [p.name for p in scripts] == ["0001_baseline.py"]
    assert _head() == "0001_baseline"


def test_build_does_not_migrate(new_store: Callable[[], SqlMetadataStore]) -> None:
    store = new_store()
    store.ping()
    assert _tables(store) == set()


def test_upgrade_from_empty_creates_every_table_at_head(
    new_store: Callable[[], SqlMetadataStore],
) -> None:
    store = new_store()
    store.migrate()
    assert _tables(store) == EXPECTED_TABLES | {"alembic_version"}
    assert _current(store) == _head()


def test_migrating_again_is_a_no_op_that_keeps_data(
    new_store: Callable[[], SqlMetadataStore],
) -> None:
    store = new_store()
    store.migrate()
    with store.unit_of_work() as uow:
        uow.workspaces.add(Workspace(name="kept"))
    store.migrate()
    new_store().migrate()  # another process starting up later
    assert _current(store) == _head()
    with store.unit_of_work() as uow:
        assert [w.name for w in uow.workspaces.list()] == ["kept"]


def test_migrated_schema_matches_the_table_metadata(
    new_store: Callable[[], SqlMetadataStore],
) -> None:
    store = new_store()
    store.migrate()
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_concurrent_migrators_all_succeed_on_one_schema(
    new_store: Callable[[], SqlMetadataStore],
) -> None:
    # Separate stores have separate engines and pools: to the database they are separate clients,
    # as separate processes starting at the same moment would be.
    stores = [new_store() for _ in range(4)]
    run_in_threads(4, lambda i: stores[i].migrate())
    assert _current(stores[0]) == _head()
    with stores[0].engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    assert versions == [_head()]


def test_schema_drift_would_be_detected(new_store: Callable[[], SqlMetadataStore]) -> None:
    # Guards the comparison above against passing vacuously.
    store = new_store()
    store.migrate()
    drifted = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    sa.Table("extra", drifted, sa.Column("id", sa.Integer, primary_key=True))
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), drifted)
    assert [d[0] for d in diff] == ["add_table"]
