"""Run the Alembic migrations shipped inside this package (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed 64-bit number; only our migrators take this advisory lock.
_PG_MIGRATION_LOCK = 7_215_338_412


def alembic_config(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade_to_head(engine: sa.Engine) -> None:
    """Idempotent, and safe when several processes call it at once: the whole upgrade runs in one
    transaction holding a lock (SQLite: the write lock of BEGIN IMMEDIATE; PostgreSQL: an advisory
    lock), so a second migrator waits and then finds the schema already at head."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(conn), "head")
