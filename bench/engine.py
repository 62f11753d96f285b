"""Engine benchmark: mlsmith's AutoML at a fixed budget vs a default HistGradientBoosting.

Real datasets bundled with scikit-learn and statsmodels (no downloads). Each dataset gets one
seeded held-out test split; both contenders train on the same rows and are scored on the same test
rows with the same metric (ROC AUC for binary, accuracy for multiclass, R^2 for regression).

    uv run python bench/engine.py --budget 30
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import datasets as skd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from mlsmith.core.engine import TrainConfig, fit_automl, predict_frame

TARGET = "target"


@dataclass
class Dataset:
    name: str
    task: str  # binary | multiclass | regression
    load: Callable[[], pd.DataFrame]  # frame with a "target" column


def _sklearn(loader) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        return loader(as_frame=True).frame

    return load


def _fair() -> pd.DataFrame:
    import statsmodels.api as sm

    df = sm.datasets.fair.load_pandas().data
    df[TARGET] = (df.pop("affairs") > 0).astype(int)
    return df


def _anes96() -> pd.DataFrame:
    import statsmodels.api as sm

    df = sm.datasets.anes96.load_pandas().data
    df[TARGET] = df.pop("vote").astype(int)
    return df


def _randhie() -> pd.DataFrame:
    import statsmodels.api as sm

    df = sm.datasets.randhie.load_pandas().data
    df[TARGET] = df.pop("mdvis").astype(float)
    return df


def _grunfeld() -> pd.DataFrame:
    import statsmodels.api as sm

    df = sm.datasets.grunfeld.load_pandas().data
    df["firm"] = df["firm"].astype(str)  # a real categorical feature
    df[TARGET] = df.pop("invest").astype(float)
    return df


def _star98() -> pd.DataFrame:
    import statsmodels.api as sm

    df = sm.datasets.star98.load_pandas().data
    above, below = df.pop("NABOVE"), df.pop("NBELOW")
    df[TARGET] = above / (above + below)  # share of pupils above the national maths median
    return df


DATASETS = [
    Dataset("breast_cancer", "binary", _sklearn(skd.load_breast_cancer)),
    Dataset("fair_affairs", "binary", _fair),
    Dataset("anes96_vote", "binary", _anes96),
    Dataset("wine", "multiclass", _sklearn(skd.load_wine)),
    Dataset("digits", "multiclass", _sklearn(skd.load_digits)),
    Dataset("diabetes", "regression", _sklearn(skd.load_diabetes)),
    Dataset("randhie_mdvis", "regression", _randhie),
    Dataset("grunfeld_invest", "regression", _grunfeld),
    Dataset("star98_share", "regression", _star98),
]
METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}


def test_score(task: str, y_true, pred, proba) -> float:
    if task == "binary":
        return float(roc_auc_score(y_true, proba))
    if task == "multiclass":
        return float(accuracy_score(y_true, pred))
    return float(r2_score(y_true, pred))


def run_hgb(ds: Dataset, train: pd.DataFrame, test: pd.DataFrame, seed: int) -> tuple[float, float]:
    def features(df: pd.DataFrame) -> pd.DataFrame:
        X = df.drop(columns=[TARGET])
        for col in X.columns:  # HGB's native categorical support reads the category dtype
            if not pd.api.types.is_numeric_dtype(X[col]):
                X[col] = pd.Categorical(X[col], categories=sorted(train[col].unique()))
        return X

    model = (
        HistGradientBoostingRegressor(random_state=seed)
        if ds.task == "regression"
        else HistGradientBoostingClassifier(random_state=seed)
    )
    started = time.perf_counter()
    model.fit(features(train), train[TARGET])
    X_test = features(test)
    pred = model.predict(X_test)
    proba = model.predict_proba(X_test)[:, 1] if ds.task == "binary" else None
    seconds = time.perf_counter() - started
    return test_score(ds.task, test[TARGET], pred, proba), seconds


def run_engine(
    ds: Dataset, train: pd.DataFrame, test: pd.DataFrame, args: argparse.Namespace
) -> tuple[float, float, str]:
    config = TrainConfig(
        target=TARGET,
        task=ds.task,
        metric=METRIC[ds.task] if ds.task != "regression" else "rmse",
        folds=args.folds,
        time_budget_s=args.budget,
        seed=args.seed,
        tune_top_k=args.tune_top_k,
    )
    started = time.perf_counter()
    result = fit_automl(train, config)
    frame, _ = predict_frame(result.best_pipeline, result.schema, test.drop(columns=[TARGET]))
    seconds = time.perf_counter() - started
    proba = None
    if ds.task == "binary":
        positive = result.schema["classes"][1]
        proba = frame[f"proba_{positive}"]
    score = test_score(ds.task, test[TARGET], frame["prediction"], proba)
    return score, seconds, result.leaderboard[0].model


def machine() -> str:
    import os

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    ram = "?"
    try:
        with open("/proc/meminfo") as fh:
            kb = int(next(line.split()[1] for line in fh if line.startswith("MemTotal")))
            ram = f"{kb / 1024**2:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {ram} RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0, help="engine time budget (s)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tune-top-k", type=int, default=2)
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--only", nargs="*", help="dataset names to run (default: all)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        f"budget {args.budget:g}s, folds {args.folds}, tune_top_k {args.tune_top_k}, "
        f"seed {args.seed}, test size {args.test_size:g}\n"
    )
    print(
        "| dataset | task | rows | metric | HGB default | engine | engine best model "
        "| HGB s | engine s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    hgb_scores, engine_scores = [], []
    for ds in DATASETS:
        if args.only and ds.name not in args.only:
            continue
        df = ds.load()
        stratify = df[TARGET] if ds.task != "regression" else None
        train, test = train_test_split(
            df, test_size=args.test_size, random_state=args.seed, stratify=stratify
        )
        hgb, hgb_s = run_hgb(ds, train, test, args.seed)
        eng, eng_s, best = run_engine(ds, train, test, args)
        hgb_scores.append(hgb)
        engine_scores.append(eng)
        print(
            f"| {ds.name} | {ds.task} | {len(df)} | {METRIC[ds.task]} | {hgb:.4f} | {eng:.4f} "
            f"| {best} | {hgb_s:.1f} | {eng_s:.1f} |",
            flush=True,
        )
    print(
        f"| **mean** | | | | **{np.mean(hgb_scores):.4f}** | **{np.mean(engine_scores):.4f}** "
        "| | | |"
    )


if __name__ == "__main__":
    main()
