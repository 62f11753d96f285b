"""Leaderboard ordering: complete rows first, then by the chosen metric in its direction."""

from __future__ import annotations

import math

from mlsmith.core.engine.metrics import higher_is_better
from mlsmith.core.engine.types import STATUS_EARLY_STOPPED, STATUS_OK, LeaderboardRow

_STATUS_RANK = {STATUS_OK: 0, STATUS_EARLY_STOPPED: 1}


def sort_key(row: LeaderboardRow, metric: str) -> tuple:
    value = row.mean.get(metric, math.nan)
    missing = value is None or math.isnan(value)
    signed = 0.0 if missing else (-value if higher_is_better(metric) else value)
    return (_STATUS_RANK.get(row.status, 2), missing, signed, row.fit_time_s)


def rank(rows: list[LeaderboardRow], metric: str) -> list[LeaderboardRow]:
    return sorted(rows, key=lambda r: sort_key(r, metric))


def best_complete(rows: list[LeaderboardRow], metric: str) -> LeaderboardRow | None:
    """The winner: the top complete row with a usable score on the chosen metric."""
    for row in rank(rows, metric):
        value = row.mean.get(metric, math.nan)
        if row.status == STATUS_OK and value is not None and not math.isnan(value):
            return row
    return None
