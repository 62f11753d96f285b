"""Column kinds and task detection, decided once from the training frame."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlsmith.core.errors import InvalidInput

NUMERIC = "numeric"
CATEGORICAL = "categorical"
DATETIME = "datetime"

# A categorical column with more distinct values than this is target-encoded instead of one-hot
# encoded: one-hot width would dominate the feature matrix and starve the trees of signal.
ONEHOT_MAX_CARDINALITY = 20
# Classification is inferred for a whole-number target with at most this many distinct values.
MAX_INFERRED_CLASSES = 20
_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key|index)$|^(id|uuid|guid|index)[_\W]", re.I)
_DATE_HINT = re.compile(r"\d{1,4}[-/:.]\d{1,2}")


@dataclass
class ColumnPlan:
    """Which feature columns the model uses, of which kind, and which were dropped and why."""

    kinds: dict[str, str] = field(default_factory=dict)  # name -> numeric|categorical|datetime
    dtypes: dict[str, str] = field(default_factory=dict)
    high_cardinality: list[str] = field(default_factory=list)  # categoricals target-encoded
    dropped: dict[str, str] = field(default_factory=dict)  # name -> reason

    def columns(self, kind: str) -> list[str]:
        return [c for c, k in self.kinds.items() if k == kind]


def _is_text_like(s: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(s)
        or pd.api.types.is_string_dtype(s)
        or isinstance(s.dtype, pd.CategoricalDtype)
    )


def _parses_as_datetime(values: pd.Series) -> bool:
    sample = values.astype(str).head(200)
    if not sample.str.contains(_DATE_HINT).mean() >= 0.9:
        return False  # avoid reading plain numbers or words as dates
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


def _parses_as_number(values: pd.Series) -> bool:
    sample = values.astype(str).head(500)
    return bool(pd.to_numeric(sample, errors="coerce").notna().mean() >= 0.98)


def infer_columns(df: pd.DataFrame, target: str) -> ColumnPlan:
    """Classify every non-target column.

    - bool, category, object and string columns are categorical, unless their values parse as dates
      (-> datetime, expanded into parts) or as numbers (-> numeric);
    - a column with at most one distinct value is dropped as constant;
    - a text column unique on every row is dropped as an id; one with mostly-unique long values is
      dropped as free text; an integer column unique per row that is named like an id or counts
      1, 2, 3... is dropped as an id.
    """
    plan = ColumnPlan()
    n = len(df)
    for col in df.columns:
        if col == target:
            continue
        name = str(col)
        s = df[col]
        non_null = s.dropna()
        nunique = int(non_null.nunique())
        if nunique <= 1:
            plan.dropped[name] = "constant" if len(non_null) else "all values missing"
            continue
        if pd.api.types.is_bool_dtype(s):
            kind = CATEGORICAL
        elif pd.api.types.is_datetime64_any_dtype(s):
            kind = DATETIME
        elif pd.api.types.is_numeric_dtype(s):
            if _is_integer_id(name, non_null, n):
                plan.dropped[name] = "id-like: a distinct integer on every row"
                continue
            kind = NUMERIC
        elif _is_text_like(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                kind = CATEGORICAL
            elif _parses_as_datetime(non_null):
                kind = DATETIME
            elif _parses_as_number(non_null):
                kind = NUMERIC
            else:
                kind = CATEGORICAL
            if kind == CATEGORICAL:
                reason = _text_drop_reason(non_null, nunique, n)
                if reason:
                    plan.dropped[name] = reason
                    continue
        else:
            plan.dropped[name] = f"unsupported dtype {s.dtype}"
            continue
        plan.kinds[name] = kind
        plan.dtypes[name] = str(s.dtype)
        if kind == CATEGORICAL and nunique > ONEHOT_MAX_CARDINALITY:
            plan.high_cardinality.append(name)
    if not plan.kinds:
        raise InvalidInput(
            "no usable feature column left after dropping the target and unusable columns",
            dropped=plan.dropped,
        )
    return plan


def _is_integer_id(name: str, non_null: pd.Series, n: int) -> bool:
    if n < 20 or len(non_null) < n or non_null.nunique() < n:
        return False
    if not pd.api.types.is_integer_dtype(non_null) and not np.all(np.mod(non_null, 1) == 0):
        return False
    if _ID_NAME.search(name):
        return True
    ordered = np.sort(non_null.to_numpy())
    return bool(np.all(np.diff(ordered) == 1))


def _text_drop_reason(non_null: pd.Series, nunique: int, n: int) -> str | None:
    if nunique > max(ONEHOT_MAX_CARDINALITY, 0.5 * len(non_null)):
        text = non_null.astype(str)
        if text.str.len().mean() > 30 or text.str.contains(" ").mean() > 0.5:
            return "free text: mostly unique long values"
    if n >= 20 and nunique == n:
        return "id-like: a distinct value on every row"
    return None


def detect_task(y: pd.Series, requested: str = "auto") -> str:
    """Decide binary / multiclass / regression from the (non-missing) target values.

    Rule for ``auto``: a bool or non-numeric target is classification; a numeric target whose values
    are all whole numbers with at most ``MAX_INFERRED_CLASSES`` (20) distinct values is
    classification; anything else numeric is regression. Classification with exactly two distinct
    values is binary, otherwise multiclass. An explicit task is checked against the values.
    """
    nunique = int(y.nunique())
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if requested == "regression":
        if not numeric:
            raise InvalidInput(
                f"task 'regression' needs a numeric target; {y.name!r} has dtype {y.dtype}"
            )
        return "regression"
    if requested in ("binary", "multiclass"):
        if nunique < 2:
            raise InvalidInput(f"target {y.name!r} has a single class; nothing to learn")
        if requested == "binary" and nunique != 2:
            raise InvalidInput(f"task 'binary' needs exactly 2 classes; {y.name!r} has {nunique}")
        if requested == "multiclass" and nunique < 3:
            raise InvalidInput(f"task 'multiclass' needs 3+ classes; {y.name!r} has {nunique}")
        return requested
    if requested != "auto":
        raise InvalidInput(
            f"unknown task {requested!r}; expected auto, binary, multiclass, regression"
        )
    if numeric:
        values = y.to_numpy(dtype=float)
        whole = bool(np.all(np.mod(values, 1) == 0))
        if not (whole and nunique <= MAX_INFERRED_CLASSES):
            return "regression"
    if nunique < 2:
        raise InvalidInput(f"target {y.name!r} has a single class; nothing to learn")
    return "binary" if nunique == 2 else "multiclass"
