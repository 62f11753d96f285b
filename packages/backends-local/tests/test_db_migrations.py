"""The Alembic migrations: build the whole schema from empty, re-run as a no-op, match the table
metadata exactly, tolerate several migrators at once, and carry a database at an older revision with
data in it to head without losing a row — on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mlsmith.backends.local.db import SqlMetadataStore, build
from mlsmith.backends.local.db.migrate import MIGRATIONS, alembic_config
from mlsmith.backends.local.db.tables import metadata
from mlsmith.core.domain import Run, RunStatus, User, Workspace
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
    "users",
    "memberships",
    "api_keys",
    "refresh_tokens",
    "projects",
    "experiments",
    "data_sources",
    "deployments",
    "reports",
}
REVISIONS = ["0001_baseline", "0002_identity_catalog", "0003_long_lease_tokens"]


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


def test_revisions_form_one_linear_chain_from_the_baseline() -> None:
    scripts = ScriptDirectory(str(MIGRATIONS))
    chain = [rev.revision for rev in scripts.walk_revisions()][::-1]  # base first
    assert chain == REVISIONS
    assert [s.down_revision for s in map(scripts.get_revision, REVISIONS)] == [
        None,
        *REVISIONS[:-1],
    ]
    files = sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py"))
    assert files == [f"{rev}.py" for rev in REVISIONS]


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


def _upgrade_to(store: SqlMetadataStore, revision: str) -> None:
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def test_database_at_the_baseline_with_data_upgrades_to_head_keeping_its_rows(
    new_store: Callable[[], SqlMetadataStore],
) -> None:
    store = new_store()
    _upgrade_to(store, "0001_baseline")
    assert _current(store) == "0001_baseline"
    created = "2026-01-02 03:04:05"
    # Rows written with plain SQL in the baseline's shape: the entities already have 0002 fields.
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_1', 'old', :ts)"),
            {"ts": created},
        )
        conn.execute(
            sa.text(
                "INSERT INTO runs (id, workspace_id, dataset_id, target, task, settings, status,"
                " stage, progress, leaderboard, cancel_requested, attempt, manifest, created_at,"
                " last_event_seq) VALUES ('run_1', 'ws_1', 'ds_1', 'y', 'auto', '{\"folds\": 3}',"
                " 'running', 'training', 40.0, '[]', false, 1, '{}', :ts, 2)"
            ),
            {"ts": created},
        )
        for seq in (1, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO run_events (run_id, seq, kind, payload, ts)"
                    " VALUES ('run_1', :seq, 'log', '{}', :ts)"
                ),
                {"seq": seq, "ts": created},
            )
        conn.execute(
            sa.text(
                "INSERT INTO artifacts (id, run_id, name, storage_key, sha256, size_bytes,"
                " created_at) VALUES ('art_1', 'run_1', 'model.pkl', 'k', 'abc', 10, :ts)"
            ),
            {"ts": created},
        )

    store.migrate()

    assert _current(store) == _head()
    assert _tables(store) == EXPECTED_TABLES | {"alembic_version"}
    with store.unit_of_work() as uow:
        assert [w.name for w in uow.workspaces.list()] == ["old"]
        run = uow.runs.get("run_1")
        assert (run.status, run.progress, run.settings) == (RunStatus.RUNNING, 40.0, {"folds": 3})
        assert (run.experiment_id, run.created_by) == (None, None)
        assert [e.seq for e in uow.events.list("run_1")] == [1, 2]
        assert [a.name for a in uow.artifacts.list("run_1")] == ["model.pkl"]
        assert [r.id for r in uow.runs.list_active()] == ["run_1"]
        # ... and the new columns and tables work on the upgraded database.
        uow.runs.transition("run_1", (RunStatus.RUNNING,), RunStatus.RUNNING, created_by="usr_1")
        assert uow.runs.count_active(created_by="usr_1") == 1
        uow.users.add(User(email="a@example.com", password_hash="h"))
        assert uow.users.count() == 1
        uow.runs.add(Run(workspace_id="ws_1", dataset_id="ds_1", target="y", experiment_id="e"))


def test_downgrade_to_the_baseline_keeps_runs_with_their_events(
    new_store: Callable[[], SqlMetadataStore],
) -> None:
    store = new_store()
    store.migrate()
    run = Run(workspace_id="ws_1", dataset_id="ds_1", target="y", created_by="usr_1")
    with store.unit_of_work() as uow:
        uow.runs.add(run)
        uow.events.append(run.id, "log", {"n": 1})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001_baseline")
    assert _current(store) == "0001_baseline"
    assert _tables(store) == EXPECTED_TABLES - _NEW_TABLES | {"alembic_version"}
    with store.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
        assert {"experiment_id", "created_by"} & columns == set()
        assert conn.execute(sa.text("SELECT id FROM runs")).scalars().all() == [run.id]
        assert conn.execute(sa.text("SELECT seq FROM run_events")).scalars().all() == [1]
    store.migrate()  # and back up again
    assert _current(store) == _head()


_NEW_TABLES = {
    "users",
    "memberships",
    "api_keys",
    "refresh_tokens",
    "projects",
    "experiments",
    "data_sources",
    "deployments",
    "reports",
}
