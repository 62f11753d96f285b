"""Inputs the engine must refuse with a clear InvalidInput."""

from __future__ import annotations

import pandas as pd
import pytest

from mlsmith.core.engine import TrainConfig, fit_automl
from mlsmith.core.errors import InvalidInput


def _fit(df, **kw):
    return fit_automl(df, TrainConfig(folds=3, candidates=["lda"], **kw))


def test_unknown_target_column():
    with pytest.raises(InvalidInput, match="target column 'nope' not found"):
        _fit(pd.DataFrame({"a": [1, 2, 3]}), target="nope")


def test_empty_frame():
    with pytest.raises(InvalidInput, match="empty"):
        _fit(pd.DataFrame({"a": [], "y": []}), target="y")


def test_no_feature_left():
    df = pd.DataFrame({"const": [1] * 30, "y": [0, 1] * 15})
    with pytest.raises(InvalidInput, match="no usable feature"):
        _fit(df, target="y")


def test_single_class_target():
    df = pd.DataFrame({"a": [i % 7 for i in range(30)], "y": ["x"] * 30})
    with pytest.raises(InvalidInput, match="single class"):
        _fit(df, target="y")


def test_class_with_a_single_row():
    df = pd.DataFrame({"a": [i % 7 for i in range(21)], "y": ["x"] * 10 + ["z"] * 10 + ["lonely"]})
    with pytest.raises(InvalidInput, match="single row") as err:
        _fit(df, target="y")
    assert err.value.details["classes"] == ["lonely"]


def test_regression_on_a_text_target():
    df = pd.DataFrame({"a": [i % 7 for i in range(30)], "y": ["p", "q", "r"] * 10})
    with pytest.raises(InvalidInput, match="numeric target"):
        _fit(df, target="y", task="regression")


def test_metric_that_does_not_fit_the_task():
    df = pd.DataFrame({"a": [i % 7 for i in range(30)], "y": [0, 1] * 15})
    with pytest.raises(InvalidInput, match="does not apply"):
        _fit(df, target="y", metric="rmse")


def test_unknown_candidate_name():
    df = pd.DataFrame({"a": [i % 7 for i in range(30)], "y": [0, 1] * 15})
    with pytest.raises(InvalidInput, match="unknown candidate"):
        fit_automl(df, TrainConfig(target="y", folds=3, candidates=["magic_forest"]))
