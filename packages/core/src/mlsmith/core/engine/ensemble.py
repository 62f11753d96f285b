"""A blend of the best few models, scored for free from their out-of-fold predictions.

Each member's fold model is exactly what a blend's fold model would contain (same rows, same seed),
so averaging the members' stored out-of-fold probabilities (or predictions, for regression) gives
the blend's true cross-validated fold scores without fitting anything. Only the final refit costs.
Averaging the top k (k chosen among a few values) keeps selection bias small, unlike greedy
weight search on the same folds.
"""

from __future__ import annotations

import math

import numpy as np

from mlsmith.core.engine.metrics import higher_is_better, score_classification, score_regression

ENSEMBLE_NAME = "ensemble"
BLEND_SIZES = (2, 3)


def blend_fold_scores(
    task: str,
    n_classes: int,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    members: list[dict[int, np.ndarray]],
) -> dict[str, list[float]]:
    """Per-fold scores of the average of ``members`` (each: fold -> out-of-fold output)."""
    scores: dict[str, list[float]] = {}
    for fold, (_, test) in enumerate(splits):
        blended = np.mean([m[fold] for m in members], axis=0)
        if task == "regression":
            fold_scores = score_regression(y[test], blended)
        else:
            pred = blended.argmax(axis=1)
            fold_scores = score_classification(y[test], pred, blended, n_classes)
        for metric, value in fold_scores.items():
            scores.setdefault(metric, []).append(value)
    return scores


def choose_blend(
    task: str,
    n_classes: int,
    metric: str,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    ranked: list[tuple[str, dict[int, np.ndarray]]],
) -> tuple[list[str], dict[str, list[float]]] | None:
    """Best top-k average of ``ranked`` (name, out-of-fold outputs; best first), or None."""
    best: tuple[float, list[str], dict[str, list[float]]] | None = None
    for k in BLEND_SIZES:
        if k > len(ranked):
            break
        names = [name for name, _ in ranked[:k]]
        scores = blend_fold_scores(task, n_classes, y, splits, [oof for _, oof in ranked[:k]])
        value = float(np.mean(scores[metric]))
        if math.isnan(value):
            continue
        signed = value if higher_is_better(metric) else -value
        if best is None or signed > best[0]:
            best = (signed, names, scores)
    return None if best is None else (best[1], best[2])
