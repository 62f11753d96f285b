"""``mlsmith promote`` and ``mlsmith models``: the model registry."""

from __future__ import annotations

from typing import Annotated

import typer

from mlsmith.cli.context import state
from mlsmith.cli.output import (
    compact_table,
    console,
    fmt_score,
    fmt_time,
    print_json,
    to_jsonable,
)
from mlsmith.cli.views import resolved_json, version_json, version_line

models_app = typer.Typer(help="Registered models: list, show, alias.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def promote(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="A succeeded run.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Model name.")],
    alias: Annotated[str | None, typer.Option(help="Point this alias at the new version.")] = None,
    as_json: AsJson = False,
) -> None:
    """Register a succeeded run as the next version of model NAME."""
    rv = state(ctx).client.promote(run_id, name, alias=alias)
    if as_json:
        print_json(resolved_json(rv))
    else:
        console.print(version_line(rv), highlight=False, soft_wrap=True)


@models_app.command("list")
def list_models(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Models with their latest version and aliases."""
    found = state(ctx).client.list_models()
    if as_json:
        print_json(
            [
                to_jsonable(
                    {
                        "name": m.name,
                        "versions": len(versions),
                        "latest": max((v.version for v in versions), default=None),
                        "aliases": aliases,
                        "created_at": m.created_at,
                    }
                )
                for m, versions, aliases in found
            ]
        )
        return
    if not found:
        console.print("no models yet: promote a run with `mlsmith promote RUN --name NAME`")
        return
    table = compact_table("model", "versions", "latest", "aliases", "created")
    for m, versions, aliases in found:
        table.add_row(
            m.name,
            str(len(versions)),
            str(max((v.version for v in versions), default="-")),
            ", ".join(f"{a}->{v}" for a, v in sorted(aliases.items())) or "-",
            fmt_time(m.created_at),
        )
    console.print(table)


@models_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    as_json: AsJson = False,
) -> None:
    """Versions of a model: run, aliases and lineage."""
    model, versions, aliases = state(ctx).client.show_model(name)
    if as_json:
        print_json(
            to_jsonable(
                {
                    "name": model.name,
                    "created_at": model.created_at,
                    "aliases": aliases,
                    "versions": [version_json(v, aliases) for v in versions],
                }
            )
        )
        return
    table = compact_table(
        "version",
        "aliases",
        "run",
        "best model",
        "score",
        "dataset",
        "created",
        title=f"model {model.name}",
    )
    for v in sorted(versions, key=lambda v: v.version):
        lin = v.lineage
        metric = lin.get("metric")
        table.add_row(
            str(v.version),
            ", ".join(sorted(a for a, n in aliases.items() if n == v.version)) or "-",
            v.run_id,
            lin.get("best_model") or "-",
            f"{metric} {fmt_score(lin.get('score'))}" if metric else "-",
            (lin.get("dataset_sha256") or "-")[:8],
            fmt_time(v.created_at),
        )
    console.print(table)


@models_app.command("alias")
def alias(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME:VERSION (or NAME@ALIAS, or NAME for latest).")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="Alias to set or move.")],
    as_json: AsJson = False,
) -> None:
    """Point ALIAS at a model version (moving it if it exists)."""
    rv = state(ctx).client.set_alias(ref, alias_name)
    if as_json:
        print_json(resolved_json(rv))
    else:
        console.print(version_line(rv), highlight=False, soft_wrap=True)
