"""`import mlsmith; mlsmith.train(...); mlsmith.promote(...); mlsmith.predict(...)` on the defaults."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

SCRIPT = """
import json, sys
import mlsmith
from sklearn.datasets import load_iris

df = load_iris(as_frame=True).frame
df["target"] = df["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
run = mlsmith.train(df, target="target", time_budget_s=8, folds=3)
mv = mlsmith.promote(run, name="iris", alias="champion")
pred = mlsmith.predict("iris@champion", df.drop(columns=["target"]).head(10))
print(json.dumps({
    "status": run.status.value,
    "models": len(run.leaderboard),
    "version": mv.version.version,
    "aliases": list(mv.aliases),
    "columns": list(pred.columns),
    "accuracy": float((pred["prediction"] == df["target"].head(10)).mean()),
}))
"""


def test_embedded_api_trains_promotes_and_predicts(env, tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "succeeded"
    assert result["models"] >= 2
    assert (result["version"], result["aliases"]) == (1, ["champion"])
    assert result["columns"] == [
        "prediction",
        "proba_setosa",
        "proba_versicolor",
        "proba_virginica",
    ]
    assert result["accuracy"] >= 0.9


def test_import_mlsmith_is_light(env):
    code = "import sys, mlsmith; print(sorted(m for m in ('pandas', 'sklearn', 'numpy') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
