"""The ``mlsmith`` command: the Typer app, its global options, and ``run()`` (the console script).

Command modules import services, pandas and the engine inside their functions only, so that
``mlsmith --help`` starts fast (see test_startup).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlsmith.cli import account, admin, demo, models, predict, serve, train, worker
from mlsmith.cli.context import CliState
from mlsmith.cli.errors import ErrorMappingGroup
from mlsmith.cli.models import models_app
from mlsmith.cli.runs import runs_app

app = typer.Typer(
    name="mlsmith",
    cls=ErrorMappingGroup,
    help="mlsmith: tabular AutoML on your own machine or a shared server (train, compare, "
    "promote, predict).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # errors are one line (see errors.py), never a traceback
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"mlsmith {version('mlsmith-cli')}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where the embedded database and files live (overrides MLSMITH_DATA_DIR; "
            "implies --local).",
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option(
            "--local", help="Embedded mode even when logged in to a server (`mlsmith login`)."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    st = CliState(data_dir=data_dir, local=local)
    ctx.obj = st
    ctx.call_on_close(st.close)


app.command("login")(account.login)
app.command("logout")(account.logout)
app.command("whoami")(account.whoami)
app.command("init")(admin.init)
app.command("migrate")(admin.migrate)
app.command("train")(train.train)
app.command("promote")(models.promote)
app.command("predict")(predict.predict)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")


def run() -> None:
    """Console-script entry point."""
    app()
