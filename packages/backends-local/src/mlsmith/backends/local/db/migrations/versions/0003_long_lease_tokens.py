"""Lease tokens of any length: the SQS queue keeps its receipt handles (up to ~1 KiB) there.

Revision ID: 0003_long_lease_tokens
Revises: 0002_identity_catalog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_long_lease_tokens"
down_revision = "0002_identity_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: a plain ALTER on PostgreSQL, a copy of the (small, short-lived) jobs table on
    # SQLite, so that both schemas match the table metadata exactly.
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("lease_token", type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("lease_token", type_=sa.String(64), existing_nullable=True)
