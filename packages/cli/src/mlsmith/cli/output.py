"""Printing: rich tables for people, JSON for machines, one-line errors and warnings on stderr.

Only rich is imported here, so that ``mlsmith --help`` stays fast.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console()
err_console = Console(stderr=True)

# Secondary metrics shown next to the chosen one, in this order of preference.
_SECONDARY = ("accuracy", "f1_macro", "roc_auc", "balanced_accuracy", "rmse", "mae", "r2", "mape")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)


def print_json(data: Any) -> None:
    # Plain stdout, not rich: rich would wrap lines and colour the text.
    sys.stdout.write(json.dumps(data, default=_jsonable, indent=2) + "\n")
    sys.stdout.flush()


def to_jsonable(obj: Any) -> Any:
    """A dataclass (or anything) as plain JSON values, datetimes as ISO strings."""
    return json.loads(json.dumps(obj, default=_jsonable))


def print_error(message: str) -> None:
    # One line, whatever the message holds: newlines folded, no rich markup, no wrapping.
    line = " ".join(str(message).split())
    err_console.print(Text(f"error: {line}", style="red"), soft_wrap=True)


def print_warning(message: str) -> None:
    line = " ".join(str(message).split())
    err_console.print(Text(f"warning: {line}", style="yellow"), soft_wrap=True)


def fmt_score(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}"


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def leaderboard_metrics(
    board: list[Mapping[str, Any]], metric: str | None
) -> tuple[str, list[str]]:
    """The chosen metric (or the board's first) and up to three others present in the rows."""
    present: list[str] = []
    for row in board:
        for name in row.get("mean") or {}:
            if name not in present:
                present.append(name)
    main = metric or (present[0] if present else "score")
    others = [m for m in _SECONDARY if m in present and m != main]
    others += [m for m in present if m not in others and m != main]
    return main, others[:3]


def leaderboard_table(board: list[Mapping[str, Any]], metric: str | None, title: str = "") -> Table:
    main, others = leaderboard_metrics(board, metric)
    # Two secondary metrics and no per-row error text: the table must fit 80 columns (errors of
    # skipped/stopped models are in `mlsmith runs show --json`).
    others = others[:2]
    table = Table(
        title=title or None,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("model", no_wrap=True)
    table.add_column(f"{main} ± std", justify="right", no_wrap=True)
    for name in others:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("fit s", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True, min_width=13)
    for row in board:  # ranked best first by the engine
        mean, std = row.get("mean") or {}, row.get("std") or {}
        score = fmt_score(mean.get(main))
        if score != "-" and std.get(main) is not None:
            score += f" ± {std[main]:.3f}"
        status = row.get("status", "")
        table.add_row(
            str(row.get("model")),
            score,
            *(fmt_score(mean.get(m)) for m in others),
            f"{row.get('fit_time_s') or 0:.1f}",
            status,
            style=None if status == "ok" else "dim",
        )
    return table


def compact_table(*columns: str, title: str = "") -> Table:
    """A borderless table (fits more in 80 columns); cells never wrap, rich ellipsizes instead."""
    table = Table(
        title=title or None,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for name in columns:
        # ids are copied into other commands, so they keep their full width (run_ + 16 hex)
        table.add_column(name, no_wrap=True, min_width=20 if name == "run" else len(name))
    return table


def key_value_table(pairs: Iterable[tuple[str, Any]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, "-" if value is None or value == "" else str(value))
    return table
