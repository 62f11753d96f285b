"""``mlsmith runs``: list, show, cancel, delete and replay training runs."""

from __future__ import annotations

from typing import Annotated

import typer

from mlsmith.cli.context import state
from mlsmith.cli.errors import EXIT_FAILED
from mlsmith.cli.output import compact_table, console, fmt_score, fmt_time, print_json
from mlsmith.cli.views import best_score, print_run, run_detail, run_summary

runs_app = typer.Typer(
    help="Training runs: list, inspect, cancel, delete, replay.", no_args_is_help=True
)

RunId = Annotated[str, typer.Argument(help="Run id (from `mlsmith runs list`).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@runs_app.command("list")
def list_runs(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="queued | running | succeeded | failed | cancelled.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 20,
    as_json: AsJson = False,
) -> None:
    """Runs of the workspace, newest first."""
    found = state(ctx).client.list_runs(status=status, limit=limit)
    if as_json:
        print_json([run_summary(r) for r in found])
        return
    if not found:
        console.print("no runs yet: try `mlsmith train DATA.csv --target COLUMN`")
        return
    table = compact_table("run", "status", "task", "best model", "score", "created")
    for r in found:
        live = f" {r.stage} {r.progress:.0f}%" if r.status.value == "running" else ""
        score = f"{r.metric} {fmt_score(best_score(r))}" if best_score(r) is not None else "-"
        table.add_row(
            r.id,
            r.status.value + live,
            r.task,
            r.best_model or "-",
            score,
            fmt_time(r.created_at),
        )
    console.print(table)


@runs_app.command("show")
def show(ctx: typer.Context, run_id: RunId, as_json: AsJson = False) -> None:
    """Status, leaderboard and artifacts (with sha256) of one run."""
    client = state(ctx).client
    run = client.get_run(run_id)
    arts = client.list_artifacts(run_id)
    if as_json:
        print_json(run_detail(run, arts))
    else:
        print_run(run, arts)


@runs_app.command("cancel")
def cancel(ctx: typer.Context, run_id: RunId) -> None:
    """Cancel a queued run at once, or ask the worker running it to stop."""
    run = state(ctx).client.cancel_run(run_id)
    if run.status.terminal:
        console.print(f"run {run.id} is {run.status.value}", soft_wrap=True)
    else:
        console.print(
            f"run {run.id}: cancellation requested; its worker will stop it", soft_wrap=True
        )


@runs_app.command("delete")
def delete(
    ctx: typer.Context,
    run_id: RunId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a finished run with its stored files."""
    client = state(ctx).client
    client.get_run(run_id)  # an unknown id fails before the prompt
    if not yes:
        typer.confirm(f"delete run {run_id} and its files?", abort=True)
    removed = client.delete_run(run_id)
    console.print(f"deleted run {run_id} ({removed} stored files)", soft_wrap=True)


@runs_app.command("replay")
def replay(ctx: typer.Context, run_id: RunId, as_json: AsJson = False) -> None:
    """Retrain a run's models from its manifest and compare with the recorded scores."""
    result = state(ctx).client.replay(run_id)
    if as_json:
        print_json(result)
    else:
        table = compact_table(
            "model",
            "recorded",
            "replayed",
            "result",
            title=f"replay of {run_id} ({result['metric']})",
        )
        for row in result["rows"]:
            if row["match"] is None:  # not comparable (e.g. a blend whose members the budget chose)
                verdict = f"[dim]n/a: {row.get('note') or 'not comparable'}[/]"
            else:
                verdict = "[green]match[/]" if row["match"] else "[red]MISMATCH[/]"
            table.add_row(
                row["model"], fmt_score(row["recorded"]), fmt_score(row["replayed"]), verdict
            )
        console.print(table)
        console.print("match" if result["match"] else "[red]MISMATCH[/]")
    if not result["match"]:
        raise typer.Exit(EXIT_FAILED)
