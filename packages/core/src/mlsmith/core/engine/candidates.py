"""Candidate models per task: order, default parameters, small tuning spaces, size limits.

Order is "most expected quality per second first": a cheap linear baseline (so even a tiny budget
ends with a complete model), then the gradient-boosted and randomised tree ensembles that win most
tabular problems, then models that are occasionally best (kernels, neighbours, other linear fits),
then weak-but-cheap ones. The defaults are general-purpose, not fitted to any dataset.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlsmith.core.errors import InvalidInput

Factory = Callable[[dict[str, Any], int, int], Any]  # (params, n_jobs, seed) -> estimator


@dataclass(frozen=True)
class Candidate:
    name: str
    factory: Factory
    params: dict[str, Any]
    space: dict[str, list[Any]] = field(default_factory=dict)
    scale: bool = False  # needs standardised inputs (linear, kernel, distance models)
    threaded: bool = False  # could use n_jobs threads; unused while parallel folds fill the cores
    per_class: bool = False  # boosting that grows one tree per class per round
    cost: float = 1.0  # rough per-fold cost relative to lightgbm, for budget estimates
    max_rows: int | None = None  # skipped above this size (would not finish in useful time)
    max_cells: int | None = None  # rows x classes limit for per-class boosting
    slow_reason: str = ""

    def build(self, params: dict[str, Any], n_jobs: int, seed: int) -> Any:
        return self.factory({**self.params, **params}, n_jobs, seed)


def lightgbm_available() -> bool:
    """Whether the optional ``mlsmith-core[boost]`` extra is installed."""
    return importlib.util.find_spec("lightgbm") is not None


_LGBM_PARAMS = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 10,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
}
_LGBM_SPACE = {
    "n_estimators": [100, 200, 400, 800],
    "learning_rate": [0.02, 0.05, 0.1],
    "num_leaves": [7, 15, 31, 63, 127],
    "min_child_samples": [3, 5, 10, 20, 50],
    "colsample_bytree": [0.5, 0.7, 0.9, 1.0],
    "subsample": [0.6, 0.8, 1.0],
    "reg_lambda": [0.0, 0.1, 1.0, 10.0],
}
_HGB_SPACE = {
    "learning_rate": [0.03, 0.05, 0.1, 0.2],
    "max_iter": [100, 200, 400],
    "max_leaf_nodes": [7, 15, 31, 63],
    "min_samples_leaf": [5, 10, 20, 40],
    "l2_regularization": [0.0, 0.1, 1.0, 10.0],
}
_FOREST_SPACE = {
    "max_features": ["sqrt", 0.3, 0.5, 0.8, 1.0],
    "min_samples_leaf": [1, 2, 4, 8],
}
_TREE_SPACE = {"max_depth": [3, 5, 8, 12, None], "min_samples_leaf": [1, 3, 5, 10, 20]}
_KNN_SPACE = {"n_neighbors": [3, 5, 10, 15, 25, 50], "weights": ["uniform", "distance"]}
_GB_SPACE = {
    "learning_rate": [0.03, 0.1, 0.2],
    "n_estimators": [100, 200, 400],
    "max_depth": [2, 3, 5],
    "subsample": [0.7, 1.0],
}


def _lgbm(kind: str) -> Factory:
    def make(p: dict[str, Any], n_jobs: int, seed: int) -> Any:
        import lightgbm

        cls = lightgbm.LGBMRegressor if kind == "regression" else lightgbm.LGBMClassifier
        # deterministic + one thread count: identical fold scores on replay.
        return cls(**p, n_jobs=n_jobs, random_state=seed, deterministic=True, verbose=-1)

    return make


def _classification() -> list[Candidate]:
    from sklearn import discriminant_analysis as da
    from sklearn import ensemble as ens
    from sklearn import linear_model as lm
    from sklearn import naive_bayes as nb
    from sklearn import neighbors, svm, tree
    from sklearn.calibration import CalibratedClassifierCV

    def svc(p, n_jobs, seed):
        # Platt scaling via a 3-fold calibrator gives probabilities (SVC(probability=True) is
        # deprecated); ensemble=False keeps one SVC, so the cost stays ~1.5x a plain fit.
        return CalibratedClassifierCV(svm.SVC(**p, random_state=seed), cv=3, ensemble=False)

    cands = [
        Candidate(
            "logistic_regression",
            lambda p, n, s: lm.LogisticRegression(**p, random_state=s),
            {"C": 1.0, "max_iter": 1000},
            {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0]},
            scale=True,
            cost=0.2,
        ),
    ]
    if lightgbm_available():
        cands.append(
            Candidate(
                "lightgbm",
                _lgbm("classification"),
                dict(_LGBM_PARAMS),
                _LGBM_SPACE,
                threaded=True,
                per_class=True,
                cost=1.0,
            )
        )
    cands += [
        Candidate(
            "hist_gradient_boosting",
            lambda p, n, s: ens.HistGradientBoostingClassifier(**p, random_state=s),
            {},
            _HGB_SPACE,
            threaded=True,
            per_class=True,
            cost=1.0,
        ),
        Candidate(
            "extra_trees",
            lambda p, n, s: ens.ExtraTreesClassifier(**p, n_jobs=n, random_state=s),
            {"n_estimators": 300},
            _FOREST_SPACE,
            threaded=True,
            cost=1.5,
        ),
        Candidate(
            "random_forest",
            lambda p, n, s: ens.RandomForestClassifier(**p, n_jobs=n, random_state=s),
            {"n_estimators": 300},
            _FOREST_SPACE,
            threaded=True,
            cost=2.0,
        ),
        Candidate(
            "svc",
            svc,
            {"C": 1.0, "gamma": "scale"},
            {"C": [0.1, 0.3, 1.0, 3.0, 10.0, 100.0], "gamma": ["scale", 0.003, 0.03, 0.3]},
            scale=True,
            cost=3.0,
            max_rows=10_000,
            slow_reason="kernel SVM training grows quadratically with rows",
        ),
        Candidate(
            "knn",
            lambda p, n, s: neighbors.KNeighborsClassifier(**p, n_jobs=n),
            {"n_neighbors": 15, "weights": "distance"},
            _KNN_SPACE,
            scale=True,
            threaded=True,
            cost=0.3,
            max_rows=100_000,
            slow_reason="neighbour search at prediction time grows with rows",
        ),
        Candidate(
            "gradient_boosting",
            lambda p, n, s: ens.GradientBoostingClassifier(**p, random_state=s),
            {},
            _GB_SPACE,
            per_class=True,
            cost=3.0,
            max_cells=100_000,
            slow_reason="exact gradient boosting fits one tree per class per round",
        ),
        Candidate(
            "lda",
            lambda p, n, s: da.LinearDiscriminantAnalysis(**p),
            {"solver": "lsqr", "shrinkage": "auto"},
            cost=0.1,
        ),
        Candidate(
            "sgd",
            lambda p, n, s: lm.SGDClassifier(**p, random_state=s),
            {"loss": "modified_huber", "alpha": 1e-4, "max_iter": 1000},
            {"alpha": [1e-5, 1e-4, 1e-3, 1e-2], "loss": ["modified_huber", "log_loss", "hinge"]},
            scale=True,
            cost=0.1,
        ),
        Candidate(
            "adaboost",
            lambda p, n, s: ens.AdaBoostClassifier(**p, random_state=s),
            {"n_estimators": 100},
            {"n_estimators": [50, 100, 200], "learning_rate": [0.1, 0.5, 1.0]},
            cost=1.0,
        ),
        Candidate(
            "decision_tree",
            lambda p, n, s: tree.DecisionTreeClassifier(**p, random_state=s),
            {"min_samples_leaf": 3},
            _TREE_SPACE,
            cost=0.1,
        ),
        Candidate("gaussian_nb", lambda p, n, s: nb.GaussianNB(**p), {}, cost=0.05),
    ]
    return cands


def _scaled_target(regressor: Any) -> Any:
    """Fit on a standardised target so alpha/C/epsilon mean the same whatever the target's units."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


def _regression() -> list[Candidate]:
    from sklearn import ensemble as ens
    from sklearn import linear_model as lm
    from sklearn import neighbors, svm, tree

    cands = [
        Candidate(
            "ridge",
            lambda p, n, s: lm.Ridge(**p),
            {"alpha": 1.0},
            {"alpha": [0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0]},
            scale=True,
            cost=0.05,
        ),
    ]
    if lightgbm_available():
        cands.append(
            Candidate(
                "lightgbm",
                _lgbm("regression"),
                dict(_LGBM_PARAMS),
                _LGBM_SPACE,
                threaded=True,
                cost=1.0,
            )
        )
    cands += [
        Candidate(
            "hist_gradient_boosting",
            lambda p, n, s: ens.HistGradientBoostingRegressor(**p, random_state=s),
            {},
            _HGB_SPACE,
            threaded=True,
            cost=1.0,
        ),
        Candidate(
            "extra_trees",
            lambda p, n, s: ens.ExtraTreesRegressor(**p, n_jobs=n, random_state=s),
            {"n_estimators": 300, "max_features": 0.8},
            _FOREST_SPACE,
            threaded=True,
            cost=1.5,
        ),
        Candidate(
            "random_forest",
            lambda p, n, s: ens.RandomForestRegressor(**p, n_jobs=n, random_state=s),
            {"n_estimators": 300, "max_features": 0.5},
            _FOREST_SPACE,
            threaded=True,
            cost=2.0,
        ),
        Candidate(
            "svr",
            lambda p, n, s: _scaled_target(svm.SVR(**p)),
            {"C": 1.0, "gamma": "scale", "epsilon": 0.1},
            {"C": [0.1, 0.3, 1.0, 3.0, 10.0, 100.0], "epsilon": [0.01, 0.1, 0.3]},
            scale=True,
            cost=2.0,
            max_rows=10_000,
            slow_reason="kernel SVM training grows quadratically with rows",
        ),
        Candidate(
            "knn",
            lambda p, n, s: neighbors.KNeighborsRegressor(**p, n_jobs=n),
            {"n_neighbors": 10, "weights": "distance"},
            _KNN_SPACE,
            scale=True,
            threaded=True,
            cost=0.3,
            max_rows=100_000,
            slow_reason="neighbour search at prediction time grows with rows",
        ),
        Candidate(
            "gradient_boosting",
            lambda p, n, s: ens.GradientBoostingRegressor(**p, random_state=s),
            {},
            _GB_SPACE,
            cost=2.0,
            max_rows=100_000,
            slow_reason="exact gradient boosting is slow on large data",
        ),
        Candidate(
            "elastic_net",
            lambda p, n, s: _scaled_target(lm.ElasticNet(**p, random_state=s)),
            {"alpha": 0.01, "l1_ratio": 0.5, "max_iter": 5000},
            {"alpha": [1e-4, 1e-3, 0.01, 0.1], "l1_ratio": [0.1, 0.5, 0.9]},
            scale=True,
            cost=0.1,
        ),
        Candidate(
            "huber",
            lambda p, n, s: _scaled_target(lm.HuberRegressor(**p)),
            {"epsilon": 1.35, "alpha": 1e-4, "max_iter": 1000},
            {"epsilon": [1.1, 1.35, 2.0], "alpha": [1e-4, 1e-2, 1.0]},
            scale=True,
            cost=0.3,
            max_rows=200_000,
            slow_reason="Huber's L-BFGS fit is slow on large data",
        ),
        Candidate(
            "lasso",
            lambda p, n, s: _scaled_target(lm.Lasso(**p, random_state=s)),
            {"alpha": 0.001, "max_iter": 5000},
            {"alpha": [1e-4, 1e-3, 0.01, 0.1]},
            scale=True,
            cost=0.1,
        ),
        Candidate(
            "decision_tree",
            lambda p, n, s: tree.DecisionTreeRegressor(**p, random_state=s),
            {"min_samples_leaf": 5},
            _TREE_SPACE,
            cost=0.1,
        ),
    ]
    return cands


def all_candidates(task: str) -> list[Candidate]:
    return _regression() if task == "regression" else _classification()


@dataclass(frozen=True)
class Trial:
    """One leaderboard entry to evaluate: a candidate under a name with parameter overrides."""

    name: str
    candidate: Candidate
    overrides: dict[str, Any]

    @property
    def params(self) -> dict[str, Any]:
        return {**self.candidate.params, **self.overrides}


TUNED_MARK = "_tuned_"
SMALL_DATA_ROWS = 5_000
SMALL_DATA_FIRST = ("svc", "svr", "knn")


def tuned_name(base: str, index: int) -> str:
    return f"{base}{TUNED_MARK}{index}"


def sample_params(cand: Candidate, seed: int, index: int) -> dict[str, Any]:
    """Random-search draw ``index`` for ``cand``: a pure function of (name, seed, index), so a run's
    ``lightgbm_tuned_3`` can be re-created by name alone when replaying."""
    import zlib

    import numpy as np

    rng = np.random.default_rng([seed, index, zlib.crc32(cand.name.encode())])
    out = {}
    for key in sorted(cand.space):
        choices = cand.space[key]
        value = choices[int(rng.integers(len(choices)))]
        out[key] = value.item() if hasattr(value, "item") else value
    return out


def resolve(name: str, pool: dict[str, Candidate], task: str, seed: int) -> Trial:
    base, _, index = name.partition(TUNED_MARK)
    if base not in pool or (index and not (index.isdigit() and pool[base].space)):
        raise InvalidInput(f"unknown candidate {name!r} for task {task}; available: {sorted(pool)}")
    overrides = sample_params(pool[base], seed, int(index)) if index else {}
    return Trial(name, pool[base], overrides)


def plan_candidates(
    task: str, n_rows: int, n_classes: int, requested: list[str] | None, seed: int
) -> tuple[list[Trial], dict[str, str]]:
    """The ordered trials to evaluate, and the candidates skipped with the reason.

    An explicit ``requested`` list is honoured as given (the user, or a replay, asked for exactly
    these); only the automatic list drops models that are too slow for the data size.
    """
    pool = {c.name: c for c in all_candidates(task)}
    if requested is not None:
        if len(set(requested)) != len(requested):
            raise InvalidInput("candidates must not repeat a name")
        # The blend is not a model of its own: it is rebuilt from the evaluated rows after the
        # search, so replaying a run that had one only needs its name in the list.
        names = [n for n in requested if n != "ensemble"]
        return [resolve(name, pool, task, seed) for name in names], {}
    chosen, skipped = [], {}
    cells = n_rows * (n_classes if n_classes > 2 else 1)
    for cand in pool.values():
        too_many_rows = cand.max_rows is not None and n_rows > cand.max_rows
        too_many_cells = cand.max_cells is not None and cells > cand.max_cells
        if too_many_rows or too_many_cells:
            skipped[cand.name] = f"too slow for {n_rows} rows: {cand.slow_reason}"
            continue
        chosen.append(Trial(cand.name, cand, {}))
    if n_rows <= SMALL_DATA_ROWS:
        # Kernel and neighbour models are cheap and often best on small data: try them before the
        # forests rather than last, so a short budget still reaches them.
        early = [t for t in chosen if t.name in SMALL_DATA_FIRST]
        rest = [t for t in chosen if t.name not in SMALL_DATA_FIRST]
        at = next((i for i, t in enumerate(rest) if t.name == "hist_gradient_boosting"), 0) + 1
        chosen = rest[:at] + early + rest[at:]
    return chosen, skipped


def base_name(name: str) -> str:
    """``lightgbm_tuned_3`` -> ``lightgbm``."""
    return name.split(TUNED_MARK, 1)[0]
