"""Early stopping of hopeless candidates, judged on the folds already scored.

The comparison is paired: the candidate's scores on folds 1..j against the current best's scores on
the same folds, so fold difficulty cancels out. A candidate is dropped when it trails by more than a
margin that is both a floor (small noise never kills a model) and twice the best's fold-to-fold
spread (noisy problems get more slack).
"""

from __future__ import annotations

import math

import numpy as np

from mlsmith.core.engine.metrics import worse_by

# Bounded "higher is better" scores compare in absolute units; errors compare relative to the best.
_ABSOLUTE_FLOOR = 0.02
_RELATIVE_FLOOR = 0.05
_ABSOLUTE_METRICS = {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "r2"}


def is_hopeless(metric: str, candidate: dict[int, float], best_folds: list[float]) -> bool:
    """``candidate`` maps fold index -> score so far; ``best_folds`` are the best's per-fold scores."""
    if candidate and all(math.isnan(c) for c in candidate.values()):
        return True  # no usable score on the chosen metric (e.g. no probabilities): cannot win
    pairs = [(c, best_folds[i]) for i, c in candidate.items() if i < len(best_folds)]
    pairs = [(c, b) for c, b in pairs if not (math.isnan(c) or math.isnan(b))]
    if not pairs:
        return False
    gap = float(np.mean([worse_by(metric, c, b) for c, b in pairs]))
    best = np.asarray([b for b in best_folds if not math.isnan(b)], dtype=float)
    spread = 2.0 * float(best.std()) if len(best) > 1 else 0.0
    if metric in _ABSOLUTE_METRICS:
        margin = max(_ABSOLUTE_FLOOR, spread)
    else:
        scale = abs(float(np.mean([b for _, b in pairs]))) or 1.0
        margin = max(_RELATIVE_FLOOR * scale, spread)
    return gap > margin
