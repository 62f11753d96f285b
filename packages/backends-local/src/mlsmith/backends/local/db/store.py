"""``SqlMetadataStore``: the DB port on SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from mlsmith.backends.local.db.errors import db_errors
from mlsmith.backends.local.db.migrate import upgrade_to_head
from mlsmith.backends.local.db.repos import SqlUnitOfWork


class SqlMetadataStore:
    def __init__(self, engine: sa.Engine) -> None:
        # Public: the ``db://`` job queue shares this engine (and so this database).
        self.engine = engine

    @contextmanager
    def unit_of_work(self, *, read_only: bool = False) -> Iterator[SqlUnitOfWork]:
        with db_errors():
            conn = self.engine.connect()
            if read_only:
                conn = conn.execution_options(mlsmith_read_only=True)
        try:
            with db_errors():
                # SQLite: BEGIN IMMEDIATE for writers, a deferred BEGIN for readers (engine.py):
                # under WAL a reader needs no lock, so reads never queue behind writers.
                tx = conn.begin()
                if read_only and conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield SqlUnitOfWork(conn)
            except BaseException:
                with db_errors():
                    tx.rollback()
                raise
            with db_errors():
                tx.commit()
        finally:
            conn.close()

    def migrate(self) -> None:
        with db_errors():
            upgrade_to_head(self.engine)

    def ping(self) -> None:
        with db_errors(), self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        self.engine.dispose()
