"""Engine creation for SQLite and PostgreSQL with the house connection settings (SECURITY.md)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from mlsmith.backends.local.db.options import DbOptions
from mlsmith.core.errors import ConfigError


def create_engine(url: str, opts: DbOptions) -> sa.Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, opts)
    if backend == "postgresql":
        return _postgres_engine(parsed, opts)
    raise ConfigError(
        f"MLSMITH_DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)",
        setting="MLSMITH_DATABASE_URL",
    )


def _pool_args(opts: DbOptions) -> dict[str, Any]:
    return {
        "pool_size": opts.pool_size,
        "max_overflow": opts.max_overflow,
        "pool_timeout": opts.pool_timeout_s,
        "echo": opts.echo,
    }


def _sqlite_engine(url: URL, opts: DbOptions) -> sa.Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        # Each pooled connection would get its own private in-memory database.
        raise ConfigError(
            "MLSMITH_DATABASE_URL: SQLite needs a file path (sqlite:///path/to/mlsmith.db)",
            setting="MLSMITH_DATABASE_URL",
        )
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **_pool_args(opts))

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        # Stop pysqlite from issuing its own BEGIN; we emit ours below (IMMEDIATE for writers).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            # busy_timeout first: switching to WAL itself may have to wait for another writer.
            cur.execute(f"PRAGMA busy_timeout={int(opts.busy_timeout_ms)}")
            _ensure_wal(cur, opts.busy_timeout_ms / 1000)
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
        finally:
            cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(conn: sa.Connection) -> None:
        # Take the write lock up front: a deferred transaction that later upgrades to a writer
        # gets SQLITE_BUSY at once (no busy wait) when another writer got in first.
        read_only = conn.get_execution_options().get("mlsmith_read_only", False)
        # query_only makes a write in a read-only unit of work fail loudly instead of silently
        # upgrading to a writer; set on every BEGIN because pooled connections are reused.
        conn.exec_driver_sql(f"PRAGMA query_only={1 if read_only else 0}")
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _ensure_wal(cur: Any, timeout_s: float) -> None:
    """WAL is persistent in the file, so only the very first connection switches. That switch
    needs an exclusive lock and SQLite answers "database is locked" without using the busy
    handler when another connection of a brand-new database holds one: retry until the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            return
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _postgres_engine(url: URL, opts: DbOptions) -> sa.Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    # Our timeouts first, so ``options`` given in the URL (e.g. a search_path, or other timeouts)
    # are applied after them and win.
    server_opts = [
        f"-c lock_timeout={int(opts.lock_timeout_ms)}",
        f"-c statement_timeout={int(opts.statement_timeout_ms)}",
        "-c timezone=UTC",
    ]
    given = url.query.get("options")
    if given:
        server_opts.extend([given] if isinstance(given, str) else list(given))
    url = url.difference_update_query(["options"])
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        isolation_level="READ COMMITTED",
        connect_args={"options": " ".join(server_opts)},
        **_pool_args(opts),
    )
