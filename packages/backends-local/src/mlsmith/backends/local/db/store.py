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
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        with db_errors():
            conn = self.engine.connect()
        try:
            with db_errors():
                tx = conn.begin()  # BEGIN IMMEDIATE on SQLite (see engine.py)
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
