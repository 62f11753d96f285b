"""``mlsmith init`` and ``mlsmith migrate``: set up the data dir, database and default workspace."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import typer

from mlsmith.cli.context import state
from mlsmith.cli.output import console, key_value_table, print_json


def without_password(url: str) -> str:
    """Never print a password embedded in a URL."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _locations(ctx: typer.Context) -> dict[str, str]:
    st = state(ctx)
    settings = st.settings
    return {
        "data_dir": str(settings.data_dir.expanduser().resolve()),
        "database": without_password(settings.url_for("db")),
        "storage": without_password(settings.url_for("storage")),
        "secrets": without_password(settings.url_for("secrets")),
        "queue": without_password(settings.url_for("queue")),
        "compute": settings.url_for("compute"),
        "workspace": settings.workspace,
    }


def init(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create the data dir, migrate the database and create the default workspace."""
    st = state(ctx)
    st.settings.data_dir.expanduser().mkdir(parents=True, exist_ok=True)
    st.backends.metadata.migrate()  # opening already migrates; explicit because it is the point
    where = {**_locations(ctx), "workspace_id": st.scope.workspace_id}
    if as_json:
        print_json(where)
        return
    console.print("[green]mlsmith is ready[/]")
    console.print(key_value_table(where.items()))
    console.print("\nnext: [bold]mlsmith train DATA.csv --target COLUMN[/] (or `mlsmith demo`)")


def migrate(ctx: typer.Context) -> None:
    """Bring the database schema up to date (idempotent)."""
    st = state(ctx)
    st.backends.metadata.migrate()
    console.print(
        f"database schema is up to date: {_locations(ctx)['database']}",
        highlight=False,
        soft_wrap=True,
    )
