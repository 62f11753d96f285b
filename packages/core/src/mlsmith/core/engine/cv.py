"""Cross-validation splits and the fit-and-score of one fold."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from mlsmith.core.engine.labels import align_proba
from mlsmith.core.engine.metrics import score_classification, score_regression


def split_strategy(task: str) -> str:
    return "KFold" if task == "regression" else "StratifiedKFold"


def make_splits(
    y: np.ndarray, task: str, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled, seeded folds, made once per run so every candidate sees the same rows."""
    if task == "regression":
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


@dataclass
class FoldResult:
    fold: int
    scores: dict[str, float]
    seconds: float
    error: str | None = None
    oof: np.ndarray | None = None  # test-row probabilities (classification) or predictions


def fit_and_score(
    columns,
    estimator,
    X: pd.DataFrame,
    y: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
    fold: int,
    task: str,
    n_classes: int,
) -> FoldResult:
    """Fit preprocessing + model on the fold's train rows; score every task metric on its test rows.

    ``X`` is already coerced (the coercion step is stateless, so doing it once per run is exact).
    """
    train, test = split
    started = time.perf_counter()
    try:
        pipe = Pipeline([("columns", clone(columns)), ("model", clone(estimator))])
        pipe.fit(X.iloc[train], y[train])
        X_test = X.iloc[test]
        pred = pipe.predict(X_test)
        if task == "regression":
            oof = np.asarray(pred, dtype=float)
            scores = score_regression(y[test], oof)
        else:
            raw = _scores(pipe, X_test, n_classes)
            scores = score_classification(y[test], np.asarray(pred, dtype=int), raw, n_classes)
            oof = raw if raw is not None and raw.ndim == 2 else None
    except Exception as exc:  # one broken candidate must not end the run
        return FoldResult(fold, {}, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    return FoldResult(fold, scores, time.perf_counter() - started, oof=oof)


def _scores(pipe: Pipeline, X_test: pd.DataFrame, n_classes: int) -> np.ndarray | None:
    if hasattr(pipe, "predict_proba"):
        return align_proba(pipe[-1], pipe.predict_proba(X_test), n_classes)
    if n_classes == 2 and hasattr(pipe, "decision_function"):
        return np.asarray(pipe.decision_function(X_test), dtype=float).ravel()
    return None
