"""Metric names per task, their direction, and per-fold scoring.

Default multiclass metric is ``f1_macro`` rather than ``log_loss``: every candidate can be scored on
it (log loss needs probabilities, which SGD/SVM-style models may lack or give badly calibrated), it
does not let a rare class be ignored the way accuracy does, and users read it directly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from mlsmith.core.errors import InvalidInput

CLASSIFICATION_METRICS = ["accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"]
REGRESSION_METRICS = ["rmse", "mae", "r2", "mape"]
_HIGHER_IS_BETTER = {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "r2"}
_LOWER_IS_BETTER = {"rmse", "mae", "mape", "log_loss"}
PROBA_METRICS = {"roc_auc", "log_loss"}
_DEFAULTS = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "rmse"}


def available_metrics(task: str) -> list[str]:
    if task in ("binary", "multiclass"):
        return list(CLASSIFICATION_METRICS)
    if task == "regression":
        return list(REGRESSION_METRICS)
    raise InvalidInput(f"unknown task {task!r}; expected binary, multiclass or regression")


def default_metric(task: str) -> str:
    if task not in _DEFAULTS:
        raise InvalidInput(f"unknown task {task!r}; expected binary, multiclass or regression")
    return _DEFAULTS[task]


def higher_is_better(metric: str) -> bool:
    if metric in _HIGHER_IS_BETTER:
        return True
    if metric in _LOWER_IS_BETTER:
        return False
    raise InvalidInput(f"unknown metric {metric!r}")


def worse_by(metric: str, candidate: float, reference: float) -> float:
    """How much worse ``candidate`` is than ``reference`` (positive = worse), in metric units."""
    return reference - candidate if higher_is_better(metric) else candidate - reference


def score_classification(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, n_classes: int
) -> dict[str, float]:
    """All classification metrics for one fold.

    ``scores`` is an (n, n_classes) probability matrix, or for a binary model without probabilities
    a 1-d decision function (good enough for ROC AUC, not for log loss), or None.
    """
    from sklearn import metrics as m

    out = {
        "accuracy": float(m.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(m.balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(
            m.f1_score(
                y_true, y_pred, average="macro", labels=np.arange(n_classes), zero_division=0
            )
        ),
        "roc_auc": math.nan,
        "log_loss": math.nan,
    }
    if scores is None:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if scores.ndim == 1:
                out["roc_auc"] = float(m.roc_auc_score(y_true, scores))
                return out
            proba = _normalised(scores)
            if n_classes == 2:
                out["roc_auc"] = float(m.roc_auc_score(y_true, proba[:, 1]))
            elif len(np.unique(y_true)) == n_classes:  # ovr AUC needs every class in the fold
                out["roc_auc"] = float(
                    m.roc_auc_score(
                        y_true, proba, multi_class="ovr", average="macro", labels=range(n_classes)
                    )
                )
            out["log_loss"] = float(m.log_loss(y_true, proba, labels=np.arange(n_classes)))
        except ValueError:
            pass  # e.g. a fold holding one class: leave NaN rather than fail the model
    return out


def _normalised(proba: np.ndarray) -> np.ndarray:
    proba = np.clip(np.nan_to_num(proba.astype(float), nan=0.0), 0.0, 1.0)
    total = proba.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return proba / total


def score_regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as m

    y_pred = np.asarray(y_pred, dtype=float)
    if not np.all(np.isfinite(y_pred)):  # a diverged linear model: score it as useless, not crash
        return {"rmse": math.inf, "mae": math.inf, "r2": -math.inf, "mape": math.inf}
    return {
        "rmse": float(math.sqrt(m.mean_squared_error(y_true, y_pred))),
        "mae": float(m.mean_absolute_error(y_true, y_pred)),
        "r2": float(m.r2_score(y_true, y_pred)),
        "mape": float(m.mean_absolute_percentage_error(y_true, y_pred)),
    }
