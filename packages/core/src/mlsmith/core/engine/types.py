"""The engine's public value types: what a caller configures, receives as events and gets back."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TASKS = ("binary", "multiclass", "regression")
STATUS_OK = "ok"
STATUS_EARLY_STOPPED = "early_stopped"
STATUS_FAILED = "failed"


@dataclass
class TrainConfig:
    target: str
    task: str = "auto"  # auto | binary | multiclass | regression
    metric: str | None = None  # None -> default_metric(task)
    folds: int = 5
    time_budget_s: float | None = 60.0  # None = no budget
    seed: int = 0
    tune_top_k: int = 0  # 0 = no tuning stage
    candidates: list[str] | None = None  # restrict to these names, in this order (replay uses this)
    n_jobs: int = -1
    finalize: bool = True  # refit the best on all data at the end


@dataclass
class EngineEvent:
    kind: str  # "stage" | "plan" | "progress" | "fold" | "model"
    payload: dict


def to_jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, NaN/inf -> None, tuples -> lists."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _nan_if_none(values: list[Any]) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


@dataclass
class LeaderboardRow:
    model: str
    params: dict[str, Any]
    fold_scores: dict[str, list[float]] = field(default_factory=dict)
    mean: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    fit_time_s: float = 0.0
    status: str = STATUS_OK
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "params": to_jsonable(self.params),
            "fold_scores": to_jsonable(self.fold_scores),
            "mean": to_jsonable(self.mean),
            "std": to_jsonable(self.std),
            "fit_time_s": to_jsonable(round(self.fit_time_s, 4)),
            "status": self.status,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeaderboardRow:
        def floats(d: Mapping[str, Any] | None) -> dict[str, float]:
            return {k: float("nan") if v is None else float(v) for k, v in (d or {}).items()}

        return cls(
            model=data["model"],
            params=dict(data.get("params") or {}),
            fold_scores={k: _nan_if_none(v) for k, v in (data.get("fold_scores") or {}).items()},
            mean=floats(data.get("mean")),
            std=floats(data.get("std")),
            fit_time_s=float(data.get("fit_time_s") or 0.0),
            status=data.get("status", STATUS_OK),
            error=data.get("error"),
        )


@dataclass
class AutoMLResult:
    task: str
    metric: str
    leaderboard: list[LeaderboardRow]
    best_pipeline: Any  # fitted sklearn Pipeline, or None
    schema: dict[str, Any]
    manifest: dict[str, Any]
    stopped_reason: str  # "completed" | "time_budget" | "stopped"

    @property
    def best(self) -> LeaderboardRow | None:
        return self.leaderboard[0] if self.leaderboard else None
