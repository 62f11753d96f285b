"""``mlsmith train``: ingest a CSV, start a run and follow it until it ends (embedded: the worker
loop runs here; remote: the server trains and its event stream feeds the same display)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlsmith.cli.context import state
from mlsmith.cli.errors import EXIT_FAILED
from mlsmith.cli.output import console, err_console, print_error, print_json
from mlsmith.cli.views import print_run, run_detail

if TYPE_CHECKING:
    from mlsmith.core.domain import Run


def report_run(run: Run, *, as_json: bool, hint: bool = True) -> None:
    """The final leaderboard and status; exit 1 unless the run succeeded."""
    from mlsmith.core.domain import RunStatus

    if as_json:
        print_json(run_detail(run))
    else:
        print_run(run)
        if hint and run.status is RunStatus.SUCCEEDED:
            console.print(
                f"\nnext: [bold]mlsmith promote {run.id} --name NAME[/]",
                highlight=False,
                soft_wrap=True,
            )
    if run.status is RunStatus.FAILED:
        print_error(f"run {run.id} failed: {run.error or 'no error recorded'}")
        raise typer.Exit(EXIT_FAILED)
    if run.status is RunStatus.CANCELLED:
        print_error(f"run {run.id} was cancelled")
        raise typer.Exit(EXIT_FAILED)


def train(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(help="CSV file with a header row.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    task: Annotated[str, typer.Option(help="auto | binary | multiclass | regression.")] = "auto",
    time_budget: Annotated[
        float, typer.Option("--time-budget", help="Seconds for the model search.")
    ] = 60.0,
    metric: Annotated[
        str | None, typer.Option(help="Metric to rank models by (default: the task's).")
    ] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed (splits and models).")] = 0,
    tune_top_k: Annotated[
        int, typer.Option("--tune-top-k", help="Tune the K best models after the search.")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Train and compare models on DATA, predicting TARGET."""
    client = state(ctx).client
    ds = client.upload(data)
    run = client.start_run(
        ds.id,
        target,
        task=task,
        metric=metric,
        folds=folds,
        time_budget_s=time_budget,
        seed=seed,
        tune_top_k=tune_top_k,
    )
    if not as_json:
        err_console.print(
            f"run [bold]{run.id}[/] on {ds.name} ({ds.n_rows} rows, {ds.n_cols} columns); "
            f"cancel with Ctrl-C or `mlsmith runs cancel {run.id}`",
            highlight=False,
            soft_wrap=True,
        )
    report_run(client.watch(run.id, show=not as_json), as_json=as_json)
