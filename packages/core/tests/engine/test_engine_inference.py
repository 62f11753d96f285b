from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsmith.core.engine.inference import (
    CATEGORICAL,
    DATETIME,
    NUMERIC,
    detect_task,
    infer_columns,
)
from mlsmith.core.errors import InvalidInput


def test_inference_assigns_kinds_and_drops_ids_constants_and_free_text(mixed):
    plan = infer_columns(mixed, target="label")
    assert plan.kinds == {
        "x": NUMERIC,
        "colour": CATEGORICAL,
        "city": CATEGORICAL,
        "signup": DATETIME,
    }
    assert plan.high_cardinality == ["city"]
    assert set(plan.dropped) == {"customer_id", "code", "constant", "note"}
    assert "id" in plan.dropped["customer_id"]
    assert "id" in plan.dropped["code"]
    assert plan.dropped["constant"] == "constant"
    assert "free text" in plan.dropped["note"]


def test_inference_reads_bool_and_category_as_categorical_and_datetime_dtype_as_datetime():
    df = pd.DataFrame(
        {
            "flag": [True, False] * 15,
            "size": pd.Categorical(["s", "m", "l"] * 10),
            "when": pd.date_range("2024-01-01", periods=30, freq="h"),
            "y": range(30),
        }
    )
    plan = infer_columns(df, target="y")
    assert plan.kinds == {"flag": CATEGORICAL, "size": CATEGORICAL, "when": DATETIME}


def test_numbers_stored_as_text_are_numeric_and_plain_words_are_categorical():
    df = pd.DataFrame(
        {"amount": ["1.5", "2", "3.25", None] * 10, "word": ["a", "b", "c", "d"] * 10, "y": 1}
    )
    plan = infer_columns(df, target="y")
    assert plan.kinds == {"amount": NUMERIC, "word": CATEGORICAL}


def test_a_float_column_unique_per_row_is_kept_as_a_feature():
    df = pd.DataFrame({"measure": np.linspace(0, 1, 50) ** 2, "y": [0, 1] * 25})
    assert infer_columns(df, target="y").kinds == {"measure": NUMERIC}


def test_no_usable_feature_raises_invalid_input():
    df = pd.DataFrame({"c": [1] * 30, "y": [0, 1] * 15})
    with pytest.raises(InvalidInput, match="no usable feature"):
        infer_columns(df, target="y")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", "b"] * 10, "binary"),
        (["a", "b", "c"] * 10, "multiclass"),
        ([True, False] * 10, "binary"),
        ([0, 1] * 10, "binary"),
        ([1.0, 2.0, 3.0] * 10, "multiclass"),
        (list(range(30)), "regression"),  # whole numbers but more than 20 distinct
        ([0.5, 1.5, 2.5] * 10, "regression"),  # few values but not whole numbers
    ],
)
def test_task_detection_rule(values, expected):
    assert detect_task(pd.Series(values, name="y")) == expected


def test_task_override_is_honoured_and_checked():
    assert detect_task(pd.Series([1, 2, 3] * 10, name="y"), "regression") == "regression"
    with pytest.raises(InvalidInput, match="numeric target"):
        detect_task(pd.Series(["a", "b"] * 10, name="y"), "regression")
    with pytest.raises(InvalidInput, match="exactly 2 classes"):
        detect_task(pd.Series(["a", "b", "c"] * 10, name="y"), "binary")
    with pytest.raises(InvalidInput, match="single class"):
        detect_task(pd.Series(["a"] * 10, name="y"))
