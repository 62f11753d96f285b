"""Budget, cancellation, early stopping, ordering, replay and events: how the search is steered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsmith.core.engine import TrainConfig, fit_automl, higher_is_better
from mlsmith.core.engine.leaderboard import rank
from mlsmith.core.engine.pruning import is_hopeless
from mlsmith.core.engine.types import LeaderboardRow

CHEAP = ["logistic_regression", "lda", "gaussian_nb", "decision_tree"]


def test_exhausted_budget_still_completes_the_first_model_and_launches_nothing_else(breast_cancer):
    config = TrainConfig(target="target", folds=3, time_budget_s=1e-9, candidates=CHEAP)
    result = fit_automl(breast_cancer, config)

    assert result.stopped_reason == "time_budget"
    assert [c["model"] for c in result.manifest["candidates"]] == ["logistic_regression"]
    assert result.leaderboard[0].status == "ok"
    assert len(result.leaderboard[0].fold_scores["roc_auc"]) == 3
    skipped = {s["model"] for s in result.manifest["skipped"]}
    assert skipped == {"lda", "gaussian_nb", "decision_tree"}
    assert result.best_pipeline is not None


def test_should_stop_ends_the_search_after_the_current_fold_and_finalizes_what_completed(
    breast_cancer,
):
    stop = {"now": False}

    def on_event(event):
        if event.kind == "model":
            stop["now"] = True  # ask to stop as soon as the first model is in

    config = TrainConfig(target="target", folds=3, time_budget_s=None, candidates=CHEAP)
    result = fit_automl(breast_cancer, config, on_event=on_event, should_stop=lambda: stop["now"])

    assert result.stopped_reason == "stopped"
    assert [r.model for r in result.leaderboard] == ["logistic_regression"]
    assert result.best_pipeline is not None


def test_stop_before_anything_completes_returns_no_pipeline(breast_cancer):
    config = TrainConfig(target="target", folds=3, candidates=CHEAP)
    result = fit_automl(breast_cancer, config, should_stop=lambda: True)
    assert result.stopped_reason == "stopped"
    assert result.leaderboard == []
    assert result.best_pipeline is None


def test_a_clearly_worse_candidate_is_early_stopped_before_its_last_fold():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    df = pd.DataFrame(X, columns=list("abcde"))
    df["y"] = X @ np.array([3.0, -2.0, 1.0, 0.5, 4.0])  # exactly linear: ridge is near-perfect
    config = TrainConfig(
        target="y", folds=5, time_budget_s=None, n_jobs=1, candidates=["ridge", "decision_tree"]
    )
    result = fit_automl(df, config)

    tree = next(r for r in result.leaderboard if r.model == "decision_tree")
    assert tree.status == "early_stopped"
    assert len(tree.fold_scores["rmse"]) < 5
    assert "clearly worse" in tree.error
    assert result.leaderboard[0].model == "ridge"  # early-stopped rows rank below complete ones


def test_hopeless_rule_uses_paired_folds_and_a_margin():
    best = [0.90, 0.92, 0.91]
    assert is_hopeless("accuracy", {0: 0.80}, best)
    assert not is_hopeless("accuracy", {0: 0.89}, best)  # within the noise floor
    assert is_hopeless("rmse", {0: 20.0}, [10.0, 11.0, 10.5])
    assert not is_hopeless("rmse", {0: 10.2}, [10.0, 11.0, 10.5])
    assert is_hopeless("roc_auc", {0: float("nan")}, best)  # cannot be scored: cannot win


def _row(model, value, metric, status="ok"):
    return LeaderboardRow(model, {}, {metric: [value]}, {metric: value}, {metric: 0.0}, 1.0, status)


@pytest.mark.parametrize("metric", ["roc_auc", "rmse"])
def test_leaderboard_ranks_by_metric_direction_with_incomplete_rows_last(metric):
    rows = [
        _row("low", 0.2, metric),
        _row("stopped", 0.9 if higher_is_better(metric) else 0.01, metric, "early_stopped"),
        _row("high", 0.8, metric),
        _row("broken", float("nan"), metric, "failed"),
    ]
    order = [r.model for r in rank(rows, metric)]
    expected_top = ["high", "low"] if higher_is_better(metric) else ["low", "high"]
    assert order == [*expected_top, "stopped", "broken"]


def test_training_leaderboard_is_sorted_lower_is_better_for_rmse(diabetes):
    config = TrainConfig(
        target="target", folds=3, time_budget_s=None, candidates=["decision_tree", "ridge", "lasso"]
    )
    board = [r for r in fit_automl(diabetes, config).leaderboard if r.status == "ok"]
    values = [r.mean["rmse"] for r in board]
    assert values == sorted(values)
    assert board[0].model != "decision_tree"


def test_replaying_the_evaluated_candidates_gives_identical_fold_scores(breast_cancer):
    first = fit_automl(
        breast_cancer,
        TrainConfig(
            target="target",
            folds=3,
            seed=3,
            time_budget_s=None,
            tune_top_k=1,
            candidates=["logistic_regression", "lightgbm", "ensemble"],
        ),
    )
    evaluated = [c["model"] for c in first.manifest["candidates"]]
    assert any("_tuned_" in name for name in evaluated)
    assert "ensemble" in evaluated
    replay = fit_automl(
        breast_cancer,
        TrainConfig(
            target="target",
            folds=3,
            seed=3,
            time_budget_s=None,
            candidates=evaluated,
            finalize=False,
        ),
    )
    assert replay.best_pipeline is None
    original = {r.model: r.fold_scores for r in first.leaderboard}
    replayed = {r.model: r.fold_scores for r in replay.leaderboard}
    assert replayed == original


def test_events_report_stages_folds_models_and_monotone_progress_to_100(breast_cancer):
    events = []
    config = TrainConfig(target="target", folds=3, candidates=["logistic_regression", "lda"])
    fit_automl(breast_cancer, config, on_event=events.append)

    stages = [e.payload["stage"] for e in events if e.kind == "stage"]
    assert stages == ["prepare", "search", "finalize", "done"]
    folds = [e.payload for e in events if e.kind == "fold"]
    assert [(f["model"], f["fold"]) for f in folds] == [
        ("logistic_regression", 0),
        ("logistic_regression", 1),
        ("logistic_regression", 2),
        ("lda", 0),
        ("lda", 1),
        ("lda", 2),
    ]
    assert "roc_auc" in folds[0]["scores"]
    models = [e.payload for e in events if e.kind == "model"]
    assert [len(m["leaderboard"]) for m in models] == [1, 2]
    assert models[1]["row"]["model"] == "lda"
    progress = [e.payload["progress"] for e in events if e.kind == "progress"]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert all(0 <= p <= 100 for p in progress)
