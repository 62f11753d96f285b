"""Statistics of a table, JSON-ready (no NaN, no numpy scalars): per-column kind, missing values,
distinct counts, numeric summaries and histograms, top values, datetime ranges, Pearson
correlations, the relation of each column to a target, and warnings.

Cost is bounded: above ``max_rows`` rows a seeded random sample is profiled (``sampled`` says so),
correlations use at most ``max_corr_columns`` columns, and value lists are truncated.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

MAX_ROWS = 100_000
MAX_CORR_COLUMNS = 20
HIST_BINS = 20
TOP_VALUES = 10
MAX_CLASSES = 10  # a numeric target with at most this many integer values is treated as classes
HIGH_MISSING = 0.5
HIGH_CARDINALITY = 50
ID_LIKE_MIN_ROWS = 20
_TEXT_MEAN_LEN = 40
_ISO_DATE = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)

NUMERIC, CATEGORICAL, DATETIME, TEXT = "numeric", "categorical", "datetime", "text"


def profile_frame(
    df: pd.DataFrame,
    target: str | None = None,
    *,
    max_rows: int = MAX_ROWS,
    max_corr_columns: int = MAX_CORR_COLUMNS,
    seed: int = 0,
) -> dict[str, Any]:
    """The profile of ``df`` (a dict of plain JSON values). ``target`` must name a column."""
    if target is not None and target not in df.columns:
        raise KeyError(target)
    n_rows = len(df)
    sampled = n_rows > max_rows
    data = df.sample(n=max_rows, random_state=seed).sort_index() if sampled else df
    data = data.rename(columns=str)
    kinds = {name: _kind(data[name]) for name in data.columns}
    series = {name: _typed(data[name], kinds[name]) for name in data.columns}
    columns = [_column(name, series[name], kinds[name]) for name in data.columns]
    result: dict[str, Any] = {
        "n_rows": n_rows,
        "n_columns": int(df.shape[1]),
        "sampled": sampled,
        "sample_rows": len(data),
        "columns": columns,
        "correlations": _correlations(series, kinds, target, max_corr_columns),
        "target": _target_relation(series, kinds, target) if target is not None else None,
        "warnings": [w for col in columns for w in _warnings(col)],
    }
    return _json_safe(result)


# -- kinds ------------------------------------------------------------------------------------------


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(s):
        return NUMERIC
    if pd.api.types.is_datetime64_any_dtype(s):
        return DATETIME
    values = s.dropna()
    if values.empty:
        return CATEGORICAL
    text = values.astype(str)
    head = text.iloc[:1000]
    if head.str.match(_ISO_DATE).mean() >= 0.95:
        return DATETIME
    if text.str.len().mean() >= _TEXT_MEAN_LEN:
        return TEXT
    return CATEGORICAL


def _typed(s: pd.Series, kind: str) -> pd.Series:
    """The column as its kind: datetimes parsed (unparseable values become missing), categories
    and text as strings with missing values kept missing."""
    if kind == DATETIME and not pd.api.types.is_datetime64_any_dtype(s):
        return pd.to_datetime(s.astype("string"), errors="coerce", format="ISO8601", utc=True)
    if kind in (CATEGORICAL, TEXT):
        return s.astype("string") if not pd.api.types.is_bool_dtype(s) else s.astype("boolean")
    return s


# -- columns ----------------------------------------------------------------------------------------


def _column(name: str, s: pd.Series, kind: str) -> dict[str, Any]:
    n = len(s)
    missing = int(s.isna().sum())
    present = s.dropna()
    col: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "dtype": str(s.dtype),
        "count": n - missing,
        "missing": missing,
        "missing_ratio": missing / n if n else 0.0,
        "distinct": int(present.nunique()),
    }
    if kind == NUMERIC:
        col["numeric"] = _numeric(present)
        col["integer"] = bool(pd.api.types.is_integer_dtype(s))
    elif kind == DATETIME:
        col["datetime"] = {
            "min": present.min().isoformat() if len(present) else None,
            "max": present.max().isoformat() if len(present) else None,
        }
    elif kind == TEXT:
        lengths = present.str.len()
        col["text"] = {
            "mean_length": float(lengths.mean()) if len(lengths) else None,
            "max_length": int(lengths.max()) if len(lengths) else None,
        }
    if kind in (CATEGORICAL, TEXT):
        counts = present.astype(str).value_counts()
        col["top_values"] = [
            {"value": str(v), "count": int(c)} for v, c in counts.iloc[:TOP_VALUES].items()
        ]
    return col


def _numeric(present: pd.Series) -> dict[str, Any]:
    values = present.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {
            "mean": None,
            "std": None,
            "min": None,
            "q25": None,
            "median": None,
            "q75": None,
            "max": None,
            "infinite": int(values.size),
            "histogram": None,
        }
    q25, median, q75 = np.quantile(finite, [0.25, 0.5, 0.75])
    counts, edges = np.histogram(finite, bins=HIST_BINS)
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
        "min": float(finite.min()),
        "q25": float(q25),
        "median": float(median),
        "q75": float(q75),
        "max": float(finite.max()),
        "infinite": int(values.size - finite.size),
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


def _all_integral(present: pd.Series) -> bool:
    values = present.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return bool(values.size) and bool(np.all(values == np.round(values)))


def _warnings(col: dict[str, Any]) -> list[dict[str, Any]]:
    name, kind, out = col["name"], col["kind"], []

    def warn(code: str, message: str) -> None:
        out.append({"column": name, "code": code, "message": message})

    if col["count"] == 0:
        warn("empty", "every value is missing")
    elif col["distinct"] == 1:
        warn("constant", "a single distinct value")
    if col["missing_ratio"] >= HIGH_MISSING:
        warn("high_missing", f"{col['missing_ratio']:.0%} of the values are missing")
    unique = col["count"] >= ID_LIKE_MIN_ROWS and col["distinct"] == col["count"]
    id_kind = kind == CATEGORICAL or (kind == NUMERIC and col.get("integer"))
    if unique and id_kind:
        warn("id_like", "every value is distinct: likely an identifier, not a feature")
    elif kind == CATEGORICAL and col["distinct"] > HIGH_CARDINALITY:
        warn("high_cardinality", f"{col['distinct']} distinct categories")
    return out


# -- relations --------------------------------------------------------------------------------------


def _numeric_frame(series: dict[str, pd.Series], names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({n: series[n].astype(float) for n in names})
    return frame.replace([np.inf, -np.inf], np.nan)


def _correlations(
    series: dict[str, pd.Series], kinds: dict[str, str], target: str | None, cap: int
) -> dict[str, Any]:
    numeric = [n for n, k in kinds.items() if k == NUMERIC and series[n].nunique() > 1]
    if target in numeric:  # the target first, then the columns most related to it
        others = [n for n in numeric if n != target]
        frame = _numeric_frame(series, numeric)
        strength = frame[others].corrwith(frame[target]).abs().fillna(0.0)
        ranked = sorted(others, key=lambda n: -strength[n])
        chosen = [target, *ranked[: cap - 1]]
    else:  # the most complete columns, in table order
        complete = sorted(numeric, key=lambda n: int(series[n].isna().sum()))[:cap]
        chosen = [n for n in numeric if n in complete]
    matrix = _numeric_frame(series, chosen).corr(method="pearson") if chosen else None
    return {
        "method": "pearson",
        "columns": chosen,
        "matrix": [] if matrix is None else matrix.to_numpy().tolist(),
        "omitted": len(numeric) - len(chosen),
    }


def _target_relation(
    series: dict[str, pd.Series], kinds: dict[str, str], target: str
) -> dict[str, Any]:
    y = series[target]
    classes = kinds[target] != NUMERIC or (_all_integral(y.dropna()) and y.nunique() <= MAX_CLASSES)
    out: dict[str, Any] = {"column": target, "task": "classification" if classes else "regression"}
    features = [n for n in series if n != target and kinds[n] in (NUMERIC, CATEGORICAL)]
    if classes:
        labels = y.astype("string")
        counts = labels.value_counts()
        out["distribution"] = [
            {"value": str(v), "count": int(c)} for v, c in counts.iloc[:TOP_VALUES].items()
        ]
        top = [str(v) for v in counts.index[:MAX_CLASSES]]
        out["relations"] = [_to_classes(n, series[n], kinds[n], labels, top) for n in features]
    else:
        y_num = y.astype(float).replace([np.inf, -np.inf], np.nan)
        out["relations"] = [_to_numeric(n, series[n], kinds[n], y_num) for n in features]
    out["relations"].sort(key=lambda r: -(abs(r["strength"]) if r["strength"] is not None else -1))
    return out


def _to_numeric(name: str, x: pd.Series, kind: str, y: pd.Series) -> dict[str, Any]:
    if kind == NUMERIC:
        corr = x.astype(float).replace([np.inf, -np.inf], np.nan).corr(y)
        return {"column": name, "kind": kind, "measure": "pearson", "strength": _num(corr)}
    frame = pd.DataFrame({"x": x.astype("string"), "y": y}).dropna()
    groups = frame.groupby("x")["y"].agg(["count", "mean"]).sort_values("count", ascending=False)
    return {
        "column": name,
        "kind": kind,
        "measure": "eta",
        "strength": _eta(frame["y"], frame["x"]),
        "by_category": [
            {"value": str(v), "count": int(r["count"]), "target_mean": _num(r["mean"])}
            for v, r in groups.iloc[:TOP_VALUES].iterrows()
        ],
    }


def _to_classes(
    name: str, x: pd.Series, kind: str, labels: pd.Series, top: list[str]
) -> dict[str, Any]:
    if kind == NUMERIC:
        frame = pd.DataFrame({"x": x.astype(float), "y": labels})
        frame = frame.replace([np.inf, -np.inf], np.nan).dropna()
        means = frame.groupby("y")["x"].mean()
        return {
            "column": name,
            "kind": kind,
            "measure": "eta",
            "strength": _eta(frame["x"], frame["y"]),
            "mean_by_class": [{"class": c, "mean": _num(means.get(c, float("nan")))} for c in top],
        }
    frame = pd.DataFrame({"x": x.astype("string"), "y": labels}).dropna()
    table = pd.crosstab(frame["x"], frame["y"])
    order = table.sum(axis=1).sort_values(ascending=False).index[:TOP_VALUES]
    return {
        "column": name,
        "kind": kind,
        "measure": "cramers_v",
        "strength": _cramers_v(table),
        "by_category": [
            {
                "value": str(v),
                "count": int(table.loc[v].sum()),
                "classes": {c: int(table.loc[v].get(c, 0)) for c in top},
            }
            for v in order
        ],
    }


def _eta(values: pd.Series, groups: pd.Series) -> float | None:
    """Correlation ratio: the share of the spread of ``values`` explained by ``groups``."""
    if len(values) < 2:
        return None
    values = values.astype(float)
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return None
    stats = values.groupby(groups).agg(["count", "mean"])
    between = float((stats["count"] * (stats["mean"] - values.mean()) ** 2).sum())
    return math.sqrt(min(1.0, between / total))


def _cramers_v(table: pd.DataFrame) -> float | None:
    n = float(table.to_numpy().sum())
    r, k = table.shape
    if n == 0 or min(r, k) < 2:
        return None
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float((((table.to_numpy() - expected) ** 2) / expected).sum())
    return math.sqrt(min(1.0, chi2 / (n * (min(r, k) - 1))))


# -- JSON -------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _num(value)
    return value
