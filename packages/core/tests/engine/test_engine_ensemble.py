"""The blend of top models: scored from out-of-fold outputs, refit as one pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from mlsmith.core.engine import TrainConfig, fit_automl, predict_frame

CANDIDATES = ["logistic_regression", "knn", "gaussian_nb", "ensemble"]


@pytest.fixture(scope="module")
def blended(iris):
    config = TrainConfig(
        target="species", folds=3, seed=0, time_budget_s=None, candidates=CANDIDATES
    )
    return fit_automl(iris, config)


def test_blend_row_lists_its_members_and_wins_here(blended):
    top = blended.leaderboard[0]
    assert top.model == "ensemble"
    assert len(top.params["members"]) >= 2
    assert set(top.params["members"]) <= {"logistic_regression", "knn", "gaussian_nb"}
    assert len(top.fold_scores["f1_macro"]) == 3


def test_blend_fold_scores_match_refitting_the_final_pipeline_on_each_fold(blended, iris):
    X = iris.drop(columns="species")
    classes, y = np.unique(iris["species"], return_inverse=True)
    splits = StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(X, y)
    for fold, (train, test) in enumerate(splits):
        pipe = clone(blended.best_pipeline).fit(X.iloc[train], y[train])
        pred = pipe.predict(X.iloc[test])  # original labels
        score = f1_score(classes[y[test]], pred, average="macro")
        assert score == pytest.approx(blended.leaderboard[0].fold_scores["f1_macro"][fold])


def test_blended_pipeline_predicts_original_labels_with_probabilities(blended, iris):
    frame, _ = predict_frame(blended.best_pipeline, blended.schema, iris.drop(columns="species"))
    assert (frame["prediction"] == iris["species"]).mean() > 0.9
    np.testing.assert_allclose(frame.filter(like="proba_").sum(axis=1), 1.0)


def test_no_blend_when_the_candidate_list_leaves_it_out(iris):
    config = TrainConfig(target="species", folds=3, time_budget_s=None, candidates=CANDIDATES[:-1])
    assert "ensemble" not in [r.model for r in fit_automl(iris, config).leaderboard]
