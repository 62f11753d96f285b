"""Validate a training frame and turn it into features, an encoded target, folds and a schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsmith.core.engine.inference import ColumnPlan, detect_task, infer_columns
from mlsmith.core.engine.metrics import available_metrics, default_metric
from mlsmith.core.engine.types import TrainConfig, to_jsonable
from mlsmith.core.errors import InvalidInput


@dataclass
class Prepared:
    X: pd.DataFrame  # raw feature columns (planned ones only), original index reset
    y: np.ndarray  # int codes 0..K-1 for classification, float for regression
    task: str
    metric: str
    classes: list[Any] | None  # original labels in code order
    plan: ColumnPlan
    folds: int
    rows_dropped_missing_target: int
    notes: list[str]

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else 0


def prepare(df: pd.DataFrame, config: TrainConfig) -> Prepared:
    if not isinstance(df, pd.DataFrame) or df.empty:
        raise InvalidInput("the training frame is empty")
    if config.target not in df.columns:
        raise InvalidInput(
            f"target column {config.target!r} not found; columns: {[str(c) for c in df.columns]}"
        )
    if config.folds < 2:
        raise InvalidInput(f"folds must be at least 2, got {config.folds}")
    notes: list[str] = []
    missing = df[config.target].isna()
    if missing.all():
        raise InvalidInput(f"target column {config.target!r} has no values")
    df = df.loc[~missing].reset_index(drop=True)
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} rows with a missing target")
    target = df[config.target]
    task = detect_task(target, config.task)
    metric = config.metric or default_metric(task)
    if metric not in available_metrics(task):
        raise InvalidInput(
            f"metric {metric!r} does not apply to {task}; choose one of {available_metrics(task)}"
        )
    plan = infer_columns(df, config.target)
    X = df[list(plan.kinds)].copy()
    X.columns = [str(c) for c in X.columns]
    folds = min(config.folds, len(df))
    if task == "regression":
        y = target.to_numpy(dtype=float)
        if np.nanstd(y) == 0:
            raise InvalidInput(f"target {config.target!r} is constant; nothing to learn")
        classes = None
        if len(df) < 2 * 2:
            raise InvalidInput(
                f"need at least 4 rows with a target to cross-validate; got {len(df)}"
            )
    else:
        y, classes = _encode_labels(target)
        counts = np.bincount(y)
        smallest = int(counts.min())
        if smallest < 2:
            rare = [classes[i] for i in np.flatnonzero(counts < 2)]
            raise InvalidInput(
                f"classes {rare} of target {config.target!r} have a single row; "
                "every class needs at least 2 rows to be cross-validated",
                classes=to_jsonable(rare),
            )
        if smallest < folds:
            notes.append(f"folds reduced from {config.folds} to {smallest}: smallest class size")
            folds = smallest
    if folds < config.folds and task == "regression":
        notes.append(f"folds reduced from {config.folds} to {folds}: fewer rows than folds")
    return Prepared(X, y, task, metric, classes, plan, folds, int(missing.sum()), notes)


def _encode_labels(target: pd.Series) -> tuple[np.ndarray, list[Any]]:
    values = target.to_numpy()
    try:
        classes, codes = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types (e.g. 1 and "a") cannot be ordered: compare as text
        classes, codes = np.unique(values.astype(str), return_inverse=True)
    return codes.astype(int), [c.item() if hasattr(c, "item") else c for c in classes]


def build_schema(prep: Prepared, target: str) -> dict[str, Any]:
    plan = prep.plan
    features = []
    for name, kind in plan.kinds.items():
        entry = {"name": name, "kind": kind, "dtype": plan.dtypes[name]}
        if kind == "categorical":
            entry["encoding"] = "target" if name in plan.high_cardinality else "onehot"
        features.append(entry)
    return to_jsonable(
        {
            "target": str(target),
            "task": prep.task,
            "metric": prep.metric,
            "features": features,
            "dropped": [{"name": n, "reason": r} for n, r in plan.dropped.items()],
            "classes": prep.classes,
            "rows": len(prep.X),
            "rows_dropped_missing_target": prep.rows_dropped_missing_target,
        }
    )
