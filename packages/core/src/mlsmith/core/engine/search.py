"""The budgeted AutoML loop: candidates in order, early stopping, optional tuning, finalize.

Parallelism is across folds, never inside a model: each fold's estimator runs single-threaded
(BLAS/OpenMP pinned to one thread) and ``n_jobs`` folds run side by side in threads. Measured on
2 cores, a 2-thread LightGBM / HistGradientBoosting fit on a few thousand rows was 2-25x *slower*
than a 1-thread one (OpenMP spin-waiting, worse on a busy host), while parallel folds scale almost
perfectly. The final refit is single-threaded too, so the time reserved for it is what it takes.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from mlsmith.core.engine.budget import Budget
from mlsmith.core.engine.candidates import (
    Trial,
    all_candidates,
    base_name,
    plan_candidates,
    resolve,
    sample_params,
    tuned_name,
)
from mlsmith.core.engine.cv import FoldResult, fit_and_score, make_splits, split_strategy
from mlsmith.core.engine.ensemble import BLEND_SIZES, ENSEMBLE_NAME, choose_blend
from mlsmith.core.engine.labels import DecodedClassifier
from mlsmith.core.engine.leaderboard import best_complete, rank
from mlsmith.core.engine.metrics import available_metrics
from mlsmith.core.engine.prepare import build_schema, prepare
from mlsmith.core.engine.preprocessing import build_preprocessor
from mlsmith.core.engine.pruning import is_hopeless
from mlsmith.core.engine.types import (
    STATUS_EARLY_STOPPED,
    STATUS_FAILED,
    STATUS_OK,
    AutoMLResult,
    EngineEvent,
    LeaderboardRow,
    TrainConfig,
    to_jsonable,
)
from mlsmith.core.engine.versions import library_versions

# Without a time budget the tuning stage needs a fixed size; with one it runs until the budget ends.
TUNE_TRIALS_WITHOUT_BUDGET = 5
TUNE_TRIALS_WITH_BUDGET = 40
# Skip a candidate whose estimated cost is this many times the budget left: it "clearly cannot
# finish". Below that it is launched and cut after its first folds if their real cost says so.
SKIP_FACTOR = 2.0
# A full-data refit costs about one fold fit on (k/(k-1)) of the rows; keep that much in reserve.
FINALIZE_RESERVE_FACTOR = 1.3


def resolve_n_jobs(n_jobs: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return max(1, min(n_jobs, cores))


def fit_automl(
    df: pd.DataFrame,
    config: TrainConfig,
    on_event: Callable[[EngineEvent], None] = lambda e: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> AutoMLResult:
    """Cross-validate candidate pipelines on ``df`` within ``config``'s budget; refit the best."""
    cores = resolve_n_jobs(config.n_jobs)
    with warnings.catch_warnings(), threadpool_limits(limits=cores, user_api="openmp"):
        warnings.simplefilter("ignore")  # convergence chatter from linear models is not actionable
        return _Search(df, config, on_event, should_stop, cores).run()


class _Search:
    def __init__(self, df, config: TrainConfig, on_event, should_stop, cores: int) -> None:
        self.df = df
        self.config = config
        self.on_event = on_event
        self.should_stop = should_stop
        self.cores = cores
        self.budget = Budget(config.time_budget_s)
        self.rows: list[LeaderboardRow] = []
        self.evaluated: list[dict[str, Any]] = []
        self.skipped: dict[str, str] = {}
        self.oof: dict[str, dict[int, np.ndarray]] = {}
        self.blend_enabled = config.candidates is None or ENSEMBLE_NAME in config.candidates
        self.stop_requested = False
        self.budget_hit = False
        self.progress = 0
        self.units_done = 0
        self.units_planned = 1

    # -- events ---------------------------------------------------------------------------------
    def _emit(self, kind: str, payload: dict) -> None:
        self.on_event(EngineEvent(kind, payload))

    def _stage(self, stage: str) -> None:
        self._emit("stage", {"stage": stage})

    def _advance(self, units: int = 0, final: bool = False) -> None:
        self.units_done += units
        work = self.units_done / max(self.units_planned, 1)
        value = 100 if final else min(99, int(100 * max(work, self.budget.fraction_used())))
        if value > self.progress:
            self.progress = value
            self._emit("progress", {"progress": value})

    def _stopped(self) -> bool:
        if not self.stop_requested and self.should_stop():
            self.stop_requested = True
        return self.stop_requested

    # -- main -----------------------------------------------------------------------------------
    def run(self) -> AutoMLResult:
        self._stage("prepare")
        self._advance()
        prep = prepare(self.df, self.config)
        self.prep = prep
        self.metrics = available_metrics(prep.task)
        plain = build_preprocessor(prep.plan, prep.task, scale=False, seed=self.config.seed)
        scaled = build_preprocessor(prep.plan, prep.task, scale=True, seed=self.config.seed)
        self.coercer = plain.named_steps["coerce"]
        self.columns = {False: plain.named_steps["columns"], True: scaled.named_steps["columns"]}
        self.X = self.coercer.transform(prep.X)  # stateless, so once per run is exact
        self.splits = make_splits(prep.y, prep.task, prep.folds, self.config.seed)
        self.width = min(self.cores, prep.folds)
        trials, skipped = plan_candidates(
            prep.task, len(prep.X), prep.n_classes, self.config.candidates, self.config.seed
        )
        self.skipped.update(skipped)
        self.units_planned = max(1, len(trials) * prep.folds)
        # Callers learn the resolved task and metric before the first model ends (live displays).
        self._emit(
            "plan",
            {
                "task": prep.task,
                "metric": prep.metric,
                "folds": prep.folds,
                "candidates": [t.name for t in trials],
            },
        )
        with ThreadPoolExecutor(max_workers=self.cores) as pool:
            self.pool = pool
            self._stage("search")
            self._search(trials)
            if self.config.tune_top_k > 0 and not self._stopped():
                self._tune()
            if self.blend_enabled and not self._stopped():
                self._blend()
        best_pipeline = None
        if self.config.finalize and best_complete(self.rows, prep.metric) is not None:
            self._stage("finalize")
            best_pipeline = self._finalize()
        reason = (
            "stopped" if self.stop_requested else "time_budget" if self.budget_hit else "completed"
        )
        self._stage("done")
        self._advance(final=True)
        board = rank(self.rows, prep.metric)
        return AutoMLResult(
            task=prep.task,
            metric=prep.metric,
            leaderboard=board,
            best_pipeline=best_pipeline,
            schema=build_schema(prep, self.config.target),
            manifest=self._manifest(board, reason),
            stopped_reason=reason,
        )

    def _search(self, trials: list[Trial]) -> None:
        for position, trial in enumerate(trials):
            if self._stopped():
                return
            guaranteed = best_complete(self.rows, self.prep.metric) is None
            if not guaranteed and self.budget.exhausted():
                self.budget_hit = True
                for later in trials[position:]:
                    self.skipped.setdefault(later.name, "time budget exhausted")
                return
            if not guaranteed and self._clearly_too_slow(trial):
                self._advance(self.prep.folds)
                continue
            self._evaluate(trial, guaranteed)

    def _cost(self, cand) -> float:
        classes = self.prep.n_classes if self.prep.n_classes > 2 else 1
        return cand.cost * (classes if cand.per_class else 1)

    def _clearly_too_slow(self, trial: Trial) -> bool:
        estimate = self.budget.estimate(self._cost(trial.candidate))
        if estimate is None or self.budget.unlimited:
            return False
        needed = estimate * math.ceil(self.prep.folds / self.width)
        if needed <= SKIP_FACTOR * self.budget.remaining():
            return False
        self.budget_hit = True
        self.skipped[trial.name] = (
            f"estimated {needed:.1f}s exceeds the {self.budget.remaining():.1f}s budget left"
        )
        return True

    # -- one candidate --------------------------------------------------------------------------
    def _evaluate(self, trial: Trial, guaranteed: bool) -> LeaderboardRow:
        cand, metric, folds = trial.candidate, self.prep.metric, self.prep.folds
        estimator = cand.build(trial.overrides, 1, self.config.seed)
        columns = self.columns[cand.scale]
        width = self.width
        best = best_complete(self.rows, metric)
        scores: dict[str, list[float]] = {m: [] for m in self.metrics}
        oof: dict[int, np.ndarray | None] = {}
        seconds, status, error = 0.0, STATUS_OK, None
        pending = list(range(folds))
        while pending:
            if self._stopped():
                status, error = STATUS_EARLY_STOPPED, "stopped on request"
                break
            if not guaranteed and self.budget.exhausted():
                self.budget_hit = True
                status = STATUS_EARLY_STOPPED
                error = f"time budget exhausted after {folds - len(pending)}/{folds} folds"
                break
            batch, pending = pending[:width], pending[width:]
            started = time.monotonic()
            results = self._run_batch(columns, estimator, batch)
            wall = time.monotonic() - started
            self.budget.observe(self._cost(cand), wall)
            for result in results:
                seconds += result.seconds
                if result.error:
                    status, error = STATUS_FAILED, result.error
                    break
                for m in self.metrics:
                    scores[m].append(result.scores[m])
                oof[result.fold] = result.oof
                self._emit(
                    "fold",
                    {
                        "model": trial.name,
                        "fold": result.fold,
                        "scores": to_jsonable(result.scores),
                    },
                )
                self._advance(1)
            if status == STATUS_FAILED:
                break
            done = folds - len(pending)
            if not pending:
                break
            if best is not None and is_hopeless(
                metric, dict(enumerate(scores[metric])), best.fold_scores[metric]
            ):
                status = STATUS_EARLY_STOPPED
                error = f"early stopped after {done}/{folds} folds: clearly worse than {best.model}"
                break
            needed = wall * math.ceil(len(pending) / width)
            if not guaranteed and needed > self.budget.remaining():
                self.budget_hit = True
                status = STATUS_EARLY_STOPPED
                error = f"stopped after {done}/{folds} folds: the rest cannot finish in the budget"
                break
        self._advance(len(pending))
        row = _row(trial.name, trial.params, scores, seconds, status, error)
        if status == STATUS_OK and all(part is not None for part in oof.values()):
            self.oof[trial.name] = oof
        self._record(row)
        return row

    def _record(self, row: LeaderboardRow) -> None:
        metric = self.prep.metric
        self.rows.append(row)
        self.evaluated.append({"model": row.model, "params": row.params, "status": row.status})
        if self.config.finalize:
            self.budget.reserve_s = self._refit_estimate()
        self._emit(
            "model",
            {"row": row.to_dict(), "leaderboard": [r.to_dict() for r in rank(self.rows, metric)]},
        )

    def _refit_estimate(self) -> float:
        """Seconds to keep for the final refit: of the best model, or of the blend that may win."""
        families = self._top_families(max(BLEND_SIZES) if self.blend_enabled else 1)
        metric = self.prep.metric
        per_fold = [r.fit_time_s / max(1, len(r.fold_scores[metric])) for r in families]
        return FINALIZE_RESERVE_FACTOR * sum(per_fold)

    def _top_families(self, limit: int) -> list[LeaderboardRow]:
        """Best complete row of each model family (tuned variants share a family), best first."""
        rows, bases = [], set()
        for row in rank(self.rows, self.prep.metric):
            base = base_name(row.model)
            if row.status == STATUS_OK and row.model != ENSEMBLE_NAME and base not in bases:
                bases.add(base)
                rows.append(row)
        return rows[:limit]

    def _run_batch(self, columns, estimator, batch: list[int]) -> list[FoldResult]:
        prep = self.prep

        def one(fold: int) -> FoldResult:
            return fit_and_score(
                columns,
                estimator,
                self.X,
                prep.y,
                self.splits[fold],
                fold,
                prep.task,
                prep.n_classes,
            )

        with threadpool_limits(limits=1):  # the folds already fill the cores
            if len(batch) == 1:
                return [one(batch[0])]
            return list(self.pool.map(one, batch))

    # -- tuning ---------------------------------------------------------------------------------
    def _tune(self) -> None:
        metric = self.prep.metric
        bases, seen_bases = [], set()
        for row in rank(self.rows, metric):
            if row.status != STATUS_OK or row.model == ENSEMBLE_NAME:
                continue
            trial = self._trial_of(row)
            if not trial.candidate.space:
                continue
            if trial.candidate.name in seen_bases:
                continue
            seen_bases.add(trial.candidate.name)
            bases.append(trial.candidate)
            if len(bases) == self.config.tune_top_k:
                break
        if not bases:
            return
        self._stage("tune")
        rounds = TUNE_TRIALS_WITHOUT_BUDGET if self.budget.unlimited else TUNE_TRIALS_WITH_BUDGET
        self.units_planned += rounds * len(bases) * self.prep.folds
        names = {r.model for r in self.rows}
        tried = {(r.model.split("_tuned_")[0], _freeze(r.params)) for r in self.rows}
        active = list(bases)
        for index in range(1, rounds + 1):
            for cand in list(active):
                if self._stopped():
                    return
                if self.budget.exhausted():
                    self.budget_hit = True
                    return
                name = tuned_name(cand.name, index)
                trial = Trial(name, cand, sample_params(cand, self.config.seed, index))
                key = (cand.name, _freeze(trial.params))
                if name in names or key in tried:
                    self._advance(self.prep.folds)
                    continue
                if self._clearly_too_slow(trial):
                    active.remove(cand)
                    continue
                tried.add(key)
                names.add(name)
                self._evaluate(trial, guaranteed=False)
            if not active:
                return

    # -- blend ----------------------------------------------------------------------------------
    def _blend(self) -> None:
        prep, metric = self.prep, self.prep.metric
        top = self._top_families(max(BLEND_SIZES))
        ranked = [(r.model, self.oof[r.model]) for r in top if r.model in self.oof]
        if len(ranked) < 2:
            return
        chosen = choose_blend(prep.task, prep.n_classes, metric, prep.y, self.splits, ranked)
        if chosen is None:
            return
        members, scores = chosen
        by_name = {r.model: r for r in self.rows}
        fit_s = sum(by_name[m].fit_time_s for m in members)
        refit_s = FINALIZE_RESERVE_FACTOR * fit_s / prep.folds
        if not self.budget.unlimited and refit_s > self.budget.remaining() + self.budget.reserve_s:
            self.skipped[ENSEMBLE_NAME] = f"refitting {members} would overrun the time budget"
            return
        self._stage("ensemble")
        self._record(_row(ENSEMBLE_NAME, {"members": members}, scores, fit_s, STATUS_OK, None))

    def _trial_of(self, row: LeaderboardRow) -> Trial:
        return self._trial_of_name(row.model)

    def _trial_of_name(self, name: str) -> Trial:
        pool = {c.name: c for c in all_candidates(self.prep.task)}
        return resolve(name, pool, self.prep.task, self.config.seed)

    # -- finalize -------------------------------------------------------------------------------
    def _finalize(self) -> Pipeline | None:
        prep, metric = self.prep, self.prep.metric
        for row in rank(self.rows, metric):
            if row.status != STATUS_OK or math.isnan(row.mean.get(metric, math.nan)):
                continue
            pipeline, threads = self._final_pipeline(row)
            try:
                with threadpool_limits(limits=threads):
                    return pipeline.fit(prep.X, prep.y)
            except Exception as exc:  # fall back to the runner-up rather than end with nothing
                self.skipped[f"finalize:{row.model}"] = f"{type(exc).__name__}: {exc}"
        return None

    def _final_pipeline(self, row: LeaderboardRow) -> tuple[Pipeline, int]:
        prep = self.prep
        # Single-threaded like the folds: the reserve was measured that way, and a multi-threaded
        # fit on a busy host can be many times slower than its single-threaded estimate.
        threads = 1

        def member(name: str) -> tuple[Pipeline, bool]:
            trial = self._trial_of_name(name)
            cand = trial.candidate
            estimator = cand.build(
                trial.overrides, threads if cand.threaded else 1, self.config.seed
            )
            return Pipeline([("columns", clone(self.columns[cand.scale])), ("model", estimator)])

        if row.model == ENSEMBLE_NAME:
            parts = [(name, member(name)) for name in row.params["members"]]
            if prep.task == "regression":
                model = VotingRegressor(parts)
            else:
                model = VotingClassifier(parts, voting="soft")
            steps = [("coerce", clone(self.coercer))]
        else:
            single = member(row.model)
            model = single.named_steps["model"]
            steps = [("coerce", clone(self.coercer)), ("columns", single.named_steps["columns"])]
        if prep.task != "regression":
            model = DecodedClassifier(model, classes=np.asarray(prep.classes))
        return Pipeline([*steps, ("model", model)]), threads

    def _manifest(self, board: list[LeaderboardRow], reason: str) -> dict[str, Any]:
        prep, config = self.prep, self.config
        best = best_complete(board, prep.metric)
        return to_jsonable(
            {
                "seed": config.seed,
                "task": prep.task,
                "metric": prep.metric,
                "folds": prep.folds,
                "folds_requested": config.folds,
                "split_strategy": split_strategy(prep.task),
                "split_shuffle": True,
                "split_seed": config.seed,
                "rows": len(prep.X),
                "rows_dropped_missing_target": prep.rows_dropped_missing_target,
                "notes": prep.notes,
                "candidates": self.evaluated,
                "skipped": [{"model": m, "reason": r} for m, r in self.skipped.items()],
                "best_model": best.model if best else None,
                "n_jobs": self.cores,
                "stopped_reason": reason,
                "elapsed_s": round(self.budget.elapsed(), 3),
                "config": asdict(config),
                "versions": library_versions(),
            }
        )


def _freeze(params: dict[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def _row(
    name: str,
    params: dict[str, Any],
    scores: dict[str, list[float]],
    seconds: float,
    status: str,
    error: str | None,
) -> LeaderboardRow:
    mean, std = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-NaN proba metrics are expected for some models
        for m, values in scores.items():
            arr = np.asarray(values, dtype=float)
            finite = arr[~np.isnan(arr)]
            mean[m] = float(finite.mean()) if len(finite) else math.nan
            std[m] = float(finite.std()) if len(finite) else math.nan
    return LeaderboardRow(
        model=name,
        params=to_jsonable(params),
        fold_scores={m: [float(v) for v in values] for m, values in scores.items()},
        mean=mean,
        std=std,
        fit_time_s=seconds,
        status=status,
        error=error,
    )
