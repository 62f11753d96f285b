"""Profile statistics on a real dataset and on a mixed frame with missing values and dates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlsmith.core.profile import profile_frame


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True).frame


@pytest.fixture
def mixed() -> pd.DataFrame:
    n = 200
    rng = np.random.default_rng(7)
    amount = rng.normal(100.0, 15.0, n)
    amount[:30] = np.nan
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n),
            "signup": pd.date_range("2021-03-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "amount": amount,
            "mostly_missing": [1.0 if i % 4 == 0 else np.nan for i in range(n)],
            "constant": "same",
            "comment": [
                f"customer number {i} left a fairly long free text comment here" for i in range(n)
            ],
            "churn": np.where(rng.random(n) < 0.3, "yes", "no"),
        }
    )


def _col(profile: dict, name: str) -> dict:
    return next(c for c in profile["columns"] if c["name"] == name)


def test_real_dataset_numeric_stats_match_pandas(diabetes):
    p = profile_frame(diabetes, target="target")
    assert (p["n_rows"], p["n_columns"], p["sampled"]) == (442, 11, False)
    bmi = _col(p, "bmi")
    assert bmi["kind"] == "numeric" and bmi["missing"] == 0
    num = bmi["numeric"]
    assert num["mean"] == pytest.approx(diabetes["bmi"].mean())
    assert num["std"] == pytest.approx(diabetes["bmi"].std())
    assert num["median"] == pytest.approx(diabetes["bmi"].median())
    assert (num["min"], num["max"]) == (diabetes["bmi"].min(), diabetes["bmi"].max())
    assert sum(num["histogram"]["counts"]) == 442 and len(num["histogram"]["counts"]) == 20
    assert _col(p, "sex")["distinct"] == 2


def test_regression_target_relation_is_pearson_ranked_by_strength(diabetes):
    p = profile_frame(diabetes, target="target")
    t = p["target"]
    assert t["task"] == "regression"
    rel = {r["column"]: r for r in t["relations"]}
    assert rel["bmi"]["strength"] == pytest.approx(diabetes["bmi"].corr(diabetes["target"]))
    strengths = [abs(r["strength"]) for r in t["relations"]]
    assert strengths == sorted(strengths, reverse=True)
    assert t["relations"][0]["column"] in ("bmi", "s5")


def test_correlations_are_capped_and_lead_with_the_target(diabetes):
    p = profile_frame(diabetes, target="target", max_corr_columns=4)
    corr = p["correlations"]
    assert corr["columns"][0] == "target" and len(corr["columns"]) == 4
    assert corr["omitted"] == 7
    m = np.array(corr["matrix"])
    assert m.shape == (4, 4) and np.allclose(np.diag(m), 1.0)
    i = corr["columns"].index("bmi")
    assert m[0, i] == pytest.approx(diabetes["bmi"].corr(diabetes["target"]))


def test_mixed_frame_kinds_missing_dates_and_top_values(mixed):
    p = profile_frame(mixed)
    kinds = {c["name"]: c["kind"] for c in p["columns"]}
    assert kinds == {
        "customer_id": "numeric",
        "city": "categorical",
        "signup": "datetime",
        "amount": "numeric",
        "mostly_missing": "numeric",
        "constant": "categorical",
        "comment": "text",
        "churn": "categorical",
    }
    amount = _col(p, "amount")
    assert (amount["missing"], amount["missing_ratio"]) == (30, 0.15)
    assert amount["numeric"]["mean"] == pytest.approx(mixed["amount"].mean())
    assert _col(p, "signup")["datetime"]["min"].startswith("2021-03-01")
    assert _col(p, "signup")["datetime"]["max"].startswith("2021-09-16")
    city = _col(p, "city")
    assert {v["value"]: v["count"] for v in city["top_values"]} == (
        mixed["city"].value_counts().to_dict()
    )
    json.dumps(p, allow_nan=False)  # plain JSON: no NaN, no numpy scalars


def test_warnings_name_constant_high_missing_id_like_and_high_cardinality(mixed):
    mixed["zip"] = [f"Z{i % 120:03d}" for i in range(len(mixed))]
    p = profile_frame(mixed)
    found = {(w["column"], w["code"]) for w in p["warnings"]}
    assert {
        ("constant", "constant"),
        ("mostly_missing", "high_missing"),
        ("customer_id", "id_like"),
        ("zip", "high_cardinality"),
    } <= found
    assert not any(col == "amount" for col, _ in found)


def test_classification_target_gets_class_distribution_and_per_category_counts(mixed):
    p = profile_frame(mixed, target="churn")
    t = p["target"]
    assert t["task"] == "classification"
    assert {d["value"]: d["count"] for d in t["distribution"]} == (
        mixed["churn"].value_counts().to_dict()
    )
    city = next(r for r in t["relations"] if r["column"] == "city")
    assert city["measure"] == "cramers_v"
    paris = next(c for c in city["by_category"] if c["value"] == "Paris")
    expected = mixed[mixed["city"] == "Paris"]["churn"].value_counts().to_dict()
    assert {k: v for k, v in paris["classes"].items() if v} == expected
    amount = next(r for r in t["relations"] if r["column"] == "amount")
    means = {m["class"]: m["mean"] for m in amount["mean_by_class"]}
    assert means["yes"] == pytest.approx(mixed[mixed["churn"] == "yes"]["amount"].mean())


def test_numeric_target_with_categories_gets_per_category_target_mean(mixed):
    p = profile_frame(mixed, target="amount")
    city = next(r for r in p["target"]["relations"] if r["column"] == "city")
    lyon = next(c for c in city["by_category"] if c["value"] == "Lyon")
    assert lyon["target_mean"] == pytest.approx(mixed[mixed["city"] == "Lyon"]["amount"].mean())


def test_large_frames_are_sampled_and_say_so(diabetes):
    big = pd.concat([diabetes] * 10, ignore_index=True)
    p = profile_frame(big, max_rows=1000)
    assert (p["n_rows"], p["sampled"], p["sample_rows"]) == (4420, True, 1000)
    assert _col(p, "bmi")["count"] == 1000


def test_unknown_target_is_refused(mixed):
    with pytest.raises(KeyError):
        profile_frame(mixed, target="nope")
