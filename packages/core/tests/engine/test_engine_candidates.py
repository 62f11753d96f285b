"""Candidate lists: enough models per task, LightGBM optional, failures contained."""

from __future__ import annotations

import pytest
from sklearn.base import BaseEstimator

from mlsmith.core.engine import TrainConfig, fit_automl
from mlsmith.core.engine import candidates as cands
from mlsmith.core.engine.candidates import Candidate, plan_candidates
from mlsmith.core.errors import InvalidInput


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("boost", [True, False])
def test_each_task_has_at_least_ten_candidates_with_or_without_lightgbm(task, boost, monkeypatch):
    monkeypatch.setattr(cands, "lightgbm_available", lambda: boost)
    names = [c.name for c in cands.all_candidates(task)]
    assert len(names) >= 10
    assert len(set(names)) == len(names)
    assert ("lightgbm" in names) is boost


def test_slow_candidates_are_skipped_on_large_data_with_a_reason():
    trials, skipped = plan_candidates("binary", 200_000, 2, None, seed=0)
    names = [t.name for t in trials]
    assert "svc" not in names
    assert "too slow" in skipped["svc"]
    small, none_skipped = plan_candidates("binary", 500, 2, None, seed=0)
    assert "svc" in [t.name for t in small]
    assert none_skipped == {}


def test_engine_trains_without_lightgbm(breast_cancer, monkeypatch):
    monkeypatch.setattr(cands, "lightgbm_available", lambda: False)
    # The automatic list (no candidates given) must simply leave LightGBM out.
    result = fit_automl(breast_cancer, TrainConfig(target="target", folds=3, time_budget_s=2))
    names = [c["model"] for c in result.manifest["candidates"]]
    assert names
    assert "lightgbm" not in names
    assert result.leaderboard[0].mean["accuracy"] > 0.9
    assert result.best_pipeline is not None
    with pytest.raises(InvalidInput, match="unknown candidate 'lightgbm'"):
        fit_automl(breast_cancer, TrainConfig(target="target", folds=3, candidates=["lightgbm"]))


def test_a_failing_candidate_is_recorded_and_ranked_last_without_ending_the_run(
    breast_cancer, monkeypatch
):
    class Boom(BaseEstimator):
        def fit(self, X, y):
            raise RuntimeError("kaboom")

    broken = Candidate("broken", lambda p, n, s: Boom(), {})
    real = cands.all_candidates

    def with_broken(task):
        return [broken, *real(task)]

    monkeypatch.setattr(cands, "all_candidates", with_broken)
    result = fit_automl(
        breast_cancer, TrainConfig(target="target", folds=3, candidates=["broken", "lda"])
    )
    assert [r.model for r in result.leaderboard] == ["lda", "broken"]
    failed = result.leaderboard[-1]
    assert failed.status == "failed"
    assert "kaboom" in failed.error
    assert result.best_pipeline is not None
