"""SqlMetadataStore passes the DB port contract on SQLite and on PostgreSQL, plus what only a real
database shows: connection settings, 50 concurrent SQLite writers, several processes at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from mlsmith.backends.local.db import SqlMetadataStore, build
from mlsmith.core.backends import BuildContext, resolve_builder
from mlsmith.core.domain import Run, Workspace
from mlsmith.core.errors import BackendUnavailable, ConfigError
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.db import MetadataStoreContract, run_in_threads
from mlsmith.core.testing.contracts.db_identity import IdentityCatalogStoreContract


def _migrated(url: str, **options: object) -> SqlMetadataStore:
    store = build(url, options, BuildContext(settings=Settings()))
    store.migrate()
    return store


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'not' / 'yet' / 'there' / 'mlsmith.db'}"


class TestSqliteMetadataStore(MetadataStoreContract, IdentityCatalogStoreContract):
    __test__ = True

    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[SqlMetadataStore]:
        store = _migrated(sqlite_url)
        yield store
        store.close()


@pytest.mark.postgres
class TestPostgresMetadataStore(MetadataStoreContract, IdentityCatalogStoreContract):
    __test__ = True

    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[SqlMetadataStore]:
        store = _migrated(postgres_url)
        yield store
        store.close()


# -- SQLite specifics -------------------------------------------------------------------------


def test_build_from_settings_resolves_sqlite_and_creates_the_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    url = settings.url_for("db")
    store = resolve_builder("db", url)(url, {}, BuildContext(settings=settings))
    try:
        assert isinstance(store, SqlMetadataStore)
        store.migrate()
        assert (tmp_path / "data" / "mlsmith.db").is_file()
    finally:
        store.close()


def test_every_sqlite_connection_gets_the_house_pragmas(sqlite_url: str) -> None:
    store = _migrated(sqlite_url)
    expected = {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 5000, "foreign_keys": 1}
    try:
        # Several connections checked out at once: each is a separate pooled connection.
        conns = [store.engine.connect() for _ in range(3)]
        for conn in conns:
            got = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in expected}
            conn.rollback()  # every transaction holds the write lock (BEGIN IMMEDIATE)
            assert got == expected
        for conn in conns:
            conn.close()
    finally:
        store.close()


def test_fifty_concurrent_sqlite_writers_never_see_database_is_locked(sqlite_url: str) -> None:
    store = _migrated(sqlite_url)
    ws = Workspace(name="w")
    run = Run(workspace_id=ws.id, dataset_id="d", target="y")
    with store.unit_of_work() as uow:
        uow.workspaces.add(ws)
        uow.runs.add(run)

    def write(i: int) -> None:
        # Read first, then write: the pattern where a deferred transaction's upgrade to a writer
        # fails at once with "database is locked" (no busy wait) if someone else wrote meanwhile.
        with store.unit_of_work() as uow:
            got = uow.runs.get(run.id)
            got.progress = float(i)
            uow.runs.save(got)
            uow.workspaces.add(Workspace(name=f"ws-{i}"))
            uow.events.append(run.id, "log", {"i": i})

    try:
        run_in_threads(50, write)  # any BackendUnavailable("database is locked") re-raises here
        with store.unit_of_work() as uow:
            assert len(uow.workspaces.list()) == 51
            assert [e.seq for e in uow.events.list(run.id)] == list(range(1, 51))
    finally:
        store.close()


def test_in_memory_sqlite_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="file path"):
        build("sqlite://", {}, None)


def test_unknown_option_is_a_config_error(sqlite_url: str) -> None:
    with pytest.raises(ConfigError, match="MLSMITH_DATABASE_OPTIONS"):
        build(sqlite_url, {"pool_sise": 3}, None)


def test_unreachable_postgres_raises_backend_unavailable() -> None:
    # Port 1 on localhost refuses connections at once.
    store = build("postgresql+psycopg://nobody@127.0.0.1:1/none", {}, None)
    try:
        with pytest.raises(BackendUnavailable):
            store.ping()
        with pytest.raises(BackendUnavailable), store.unit_of_work():
            pass
    finally:
        store.close()


# -- several processes on one database --------------------------------------------------------

_APPENDER = """
import sys
from mlsmith.backends.local.db import build
store = build(sys.argv[1], {}, None)
for i in range(int(sys.argv[3])):
    with store.unit_of_work() as uow:
        uow.events.append(sys.argv[2], "log", {"pid": sys.argv[4], "i": i})
store.close()
"""


def _appends_from_processes(url: str) -> None:
    store = _migrated(url)
    run = Run(workspace_id="ws", dataset_id="d", target="y")
    with store.unit_of_work() as uow:
        uow.runs.add(run)
    procs, per_proc = 4, 20

    def spawn(p: int) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", _APPENDER, url, run.id, str(per_proc), str(p)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)

    try:
        with ThreadPoolExecutor(procs) as pool:
            results = list(pool.map(spawn, range(procs)))
        assert [r.returncode for r in results] == [0] * procs, [r.stderr for r in results]
        with store.unit_of_work() as uow:
            events = uow.events.list(run.id)
        assert [e.seq for e in events] == list(range(1, procs * per_proc + 1))
        assert len({(e.payload["pid"], e.payload["i"]) for e in events}) == procs * per_proc
    finally:
        store.close()


def test_processes_sharing_a_sqlite_file_append_gapless_events(sqlite_url: str) -> None:
    _appends_from_processes(sqlite_url)


# -- PostgreSQL specifics ---------------------------------------------------------------------


@pytest.mark.postgres
def test_processes_sharing_postgres_append_gapless_events(postgres_url: str) -> None:
    _appends_from_processes(postgres_url)


@pytest.mark.postgres
def test_postgres_sessions_use_read_committed_and_timeouts(postgres_url: str) -> None:
    defaults = build(postgres_url, {}, None)
    tuned = build(postgres_url, {"lock_timeout_ms": 1234, "statement_timeout_ms": 4321}, None)
    try:
        for store, lock, stmt in ((defaults, "5s", "1min"), (tuned, "1234ms", "4321ms")):
            with store.engine.connect() as conn:
                show = {
                    name: conn.exec_driver_sql(f"SHOW {name}").scalar()
                    for name in ("lock_timeout", "statement_timeout", "transaction_isolation")
                }
                # the test's search_path from the URL options survives our own options
                assert conn.exec_driver_sql("SHOW search_path").scalar().startswith("t_")
            assert show == {
                "lock_timeout": lock,
                "statement_timeout": stmt,
                "transaction_isolation": "read committed",
            }
    finally:
        defaults.close()
        tuned.close()


@pytest.mark.postgres
def test_postgres_store_survives_a_dropped_connection(postgres_url: str) -> None:
    store = _migrated(postgres_url, pool_size=1, max_overflow=0)
    try:
        with store.engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        admin = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        with admin.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        store.ping()  # pool_pre_ping notices the dead pooled connection and replaces it
        with store.unit_of_work() as uow:
            uow.workspaces.add(Workspace(name="after-restart"))
    finally:
        store.close()
