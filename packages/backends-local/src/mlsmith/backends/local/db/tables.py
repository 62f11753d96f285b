"""The metadata schema as SQLAlchemy Core tables. Alembic migrations must produce exactly this
(``tests/test_db_migrations.py`` compares them).

Foreign keys only where a child cannot outlive its parent (events, artifacts, versions, aliases).
Runs do not reference datasets or workspaces, and versions do not reference runs: a run keeps its
history when its dataset is deleted, a model version keeps its lineage when its run is deleted.
The identity and catalog tables (users ... reports) have no foreign keys either: the services decide
what a deletion takes with it, and the in-memory fake (which has no foreign keys) behaves the same.
"""

from __future__ import annotations

import sqlalchemy as sa

from mlsmith.backends.local.db.types import BigIntPK, JSONDoc, UTCDateTime

# Deterministic constraint names, so migrations can refer to them on every database.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(64)
NAME = sa.String(255)

workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", NAME, nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("storage_key", sa.String(1024), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("n_rows", sa.BigInteger, nullable=False),
    sa.Column("n_cols", sa.Integer, nullable=False),
    sa.Column("columns", JSONDoc, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "workspace_id", "created_at"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, nullable=False),
    sa.Column("dataset_id", ID, nullable=False),
    sa.Column("target", NAME, nullable=False),
    sa.Column("task", sa.String(32), nullable=False),
    sa.Column("metric", sa.String(64), nullable=True),
    sa.Column("settings", JSONDoc, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(64), nullable=False),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("leaderboard", JSONDoc, nullable=False),
    sa.Column("best_model", NAME, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("manifest", JSONDoc, nullable=False),
    sa.Column("job_id", ID, nullable=True),
    sa.Column("experiment_id", ID, nullable=True),
    sa.Column("created_by", ID, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    # The last event seq handed out. Bumping it with UPDATE ... RETURNING row-locks the run, which
    # serialises concurrent appends on PostgreSQL and rolls back with a failed transaction.
    sa.Column("last_event_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "workspace_id", "created_at"),
    sa.Index(None, "workspace_id", "status", "created_at"),
    sa.Index(None, "created_by", "status"),  # per-user concurrency limit
    sa.Index(None, "status", "created_at"),  # active runs of every workspace (the reaper)
)

run_events = sa.Table(
    "run_events",
    metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", JSONDoc, nullable=False),
    sa.Column("ts", UTCDateTime, nullable=False),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column(
        "run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("name", NAME, nullable=False),
    sa.Column("storage_key", sa.String(1024), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("run_id", "name"),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Same counter trick as runs.last_event_seq, for version numbers under concurrent promotes.
    sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("workspace_id", "name"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", ID, nullable=False),
    sa.Column("lineage", JSONDoc, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("model_id", "version"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", ID, primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    ),
)

platform_keys = sa.Table(
    "platform_keys",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

jobs = sa.Table(
    "jobs",
    metadata,
    # Insertion order is claim order (FIFO); timestamps can tie, a sequence cannot.
    sa.Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", JSONDoc, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("lease_token", sa.Text, nullable=True),  # SQS receipt handles run to ~1 KiB
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "status", "seq"),
)

# -- identity ---------------------------------------------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("email", NAME, nullable=False, unique=True),  # lower-cased by the repository
    sa.Column("password_hash", sa.String(512), nullable=False),
    sa.Column("display_name", NAME, nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("token_version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_login_at", UTCDateTime, nullable=True),
    sa.Index(None, "created_at"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("workspace_id", ID, primary_key=True),
    sa.Column("user_id", ID, primary_key=True, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, nullable=False, index=True),
    sa.Column("workspace_id", ID, nullable=True),
    sa.Column("name", NAME, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("scopes", JSONDoc, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, nullable=False, index=True),
    sa.Column("family_id", ID, nullable=False, index=True),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("family_expires_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# -- catalog ----------------------------------------------------------------------------------

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "name"),
    sa.Index(None, "workspace_id", "created_at"),
)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, nullable=False),
    sa.Column("project_id", ID, nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("target", NAME, nullable=False),
    sa.Column("task", sa.String(32), nullable=False),
    sa.Column("settings", JSONDoc, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
    sa.Index(None, "project_id", "created_at"),
)

data_sources = sa.Table(
    "data_sources",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("config", JSONDoc, nullable=False),
    sa.Column("secret_ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "name"),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, nullable=False, index=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("model_id", ID, nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("alias", sa.String(64), nullable=True),
    sa.Column("auth_mode", sa.String(16), nullable=False),
    sa.Column("created_by", ID, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, nullable=False),
    sa.Column("dataset_id", ID, nullable=False),
    sa.Column("target", NAME, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", JSONDoc, nullable=False),
    sa.Column("html_key", sa.String(1024), nullable=True),
    sa.Column("html_sha256", sa.String(64), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Index(None, "dataset_id", "created_at"),
)
