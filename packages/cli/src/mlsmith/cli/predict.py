"""``mlsmith predict``: batch predictions from a registered model into a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlsmith.cli.context import state
from mlsmith.cli.output import console, print_json, print_warning
from mlsmith.cli.views import resolved_json


def predict(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="NAME (latest), NAME@ALIAS or NAME:VERSION.")],
    data: Annotated[Path, typer.Argument(help="CSV with the model's feature columns.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write predictions.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Predict every row of DATA with MODEL; writes `prediction` (and `proba_<class>`) columns.

    Against a server, the rows go to a deployment serving that model version."""
    result, warnings, rv = state(ctx).client.predict(model, data)
    for warning in warnings:
        print_warning(warning)
    result.to_csv(output, index=False)
    if as_json:
        print_json(
            {
                "output": str(output),
                "rows": len(result),
                "columns": list(map(str, result.columns)),
                "warnings": warnings,
                "model": resolved_json(rv),
            }
        )
    else:
        console.print(
            f"wrote {len(result)} predictions to {output} "
            f"({rv.model.name} version {rv.version.version})",
            highlight=False,
            soft_wrap=True,
        )
