"""Micro-batching of concurrent predict calls, with threads and a counting pipeline."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from mlsmith.core.engine import predict_frame
from mlsmith.core.errors import InvalidInput
from mlsmith.core.services.batching import MicroBatcher, _Lane

N_THREADS = 16


class CountingPipeline:
    """A fitted classifier that counts predict calls and can hold them until released."""

    def __init__(self, model, *, gate: threading.Event | None = None) -> None:
        self.model = model
        self.gate = gate
        self.calls: list[int] = []  # rows per predict call
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def predict(self, X):
        with self._lock:
            self.calls.append(len(X))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(30), "test gate never opened"
        if (X["sepal_length"] < 0).any():
            raise ValueError("negative length")  # a value-level failure inside the pipeline
        return self.model.predict(X.to_numpy())

    def predict_proba(self, X):
        return self.model.predict_proba(X.to_numpy())


@pytest.fixture(scope="module")
def iris():
    data = load_iris(as_frame=True)
    X = data.frame.drop(columns="target")
    X.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    y = data.target.map({0: "setosa", 1: "versicolor", 2: "virginica"})
    model = LogisticRegression(max_iter=500).fit(X.to_numpy(), y)
    schema = {
        "features": [{"name": c} for c in X.columns],
        "target": "species",
        "task": "multiclass",
        "classes": list(model.classes_),
    }
    return model, schema, X


def _chunks(X: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """n requests of 1..9 rows with their own (non-default) indexes."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        part = X.sample(int(rng.integers(1, 10)), random_state=i)
        out.append(part.set_axis([f"r{i}-{j}" for j in range(len(part))]))
    return out


def _concurrently(fn, args: list) -> list:
    results: list = [None] * len(args)
    start = threading.Barrier(len(args))

    def work(i):
        start.wait()
        try:
            results[i] = fn(args[i])
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _wait_for(cond, what: str) -> None:
    for _ in range(3000):
        if cond():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_lone_request_is_predicted_at_once_without_waiting(iris):
    model, schema, X = iris
    batcher, pipe = MicroBatcher(), CountingPipeline(model)
    for _ in range(5):  # sequential calls: the server is idle each time
        out, _ = batcher.predict("v1", pipe, schema, X.head(3))
    assert batcher.stats.waits == 0
    assert pipe.calls == [3] * 5 and batcher.stats.batches == 5
    expected, _ = predict_frame(pipe, schema, X.head(3))
    pd.testing.assert_frame_equal(out, expected)
    assert batcher.pending("v1") == 0


def test_concurrent_results_equal_unbatched_predictions_in_order(iris):
    model, schema, X = iris
    batcher, pipe = MicroBatcher(), CountingPipeline(model)
    requests = _chunks(X, N_THREADS)
    results = _concurrently(lambda df: batcher.predict("v1", pipe, schema, df), requests)
    reference = CountingPipeline(model)
    for df, got in zip(requests, results, strict=True):
        assert not isinstance(got, Exception), got
        frame, warnings = got
        expected, _ = predict_frame(reference, schema, df)
        pd.testing.assert_frame_equal(frame, expected)
        assert list(frame.index) == list(df.index) and warnings == []


def test_requests_queued_behind_a_running_batch_form_one_batch(iris):
    model, schema, X = iris
    gate = threading.Event()
    batcher, pipe = MicroBatcher(), CountingPipeline(model, gate=gate)
    requests = _chunks(X, N_THREADS)
    results: list = []
    first = threading.Thread(
        target=lambda: results.append(batcher.predict("v1", pipe, schema, requests[0]))
    )
    first.start()
    _wait_for(pipe.entered.is_set, "the first batch to start predicting")
    rest = threading.Thread(
        target=lambda: results.extend(
            _concurrently(lambda df: batcher.predict("v1", pipe, schema, df), requests[1:])
        )
    )
    rest.start()
    _wait_for(lambda: batcher.pending("v1") == N_THREADS - 1, "the others to queue")
    gate.set()
    first.join(30)
    rest.join(30)
    assert len(results) == N_THREADS and not any(isinstance(r, Exception) for r in results)
    assert len(pipe.calls) == 2  # one for the first request, one for the 15 queued behind it
    assert pipe.calls[1] == sum(len(r) for r in requests[1:])
    assert batcher.stats.max_batch_requests == N_THREADS - 1


def test_batches_form_under_free_concurrency(iris):
    model, schema, X = iris
    batcher, pipe = MicroBatcher(), CountingPipeline(model)
    requests = _chunks(X, 64)
    results = _concurrently(lambda df: batcher.predict("v1", pipe, schema, df), requests)
    assert not any(isinstance(r, Exception) for r in results)
    assert batcher.stats.requests == 64
    assert len(pipe.calls) == batcher.stats.batches <= 64
    assert sum(pipe.calls) == sum(len(r) for r in requests)


def test_different_versions_are_never_mixed(iris):
    model, schema, X = iris
    gate = threading.Event()
    batcher = MicroBatcher()
    a, b = CountingPipeline(model, gate=gate), CountingPipeline(model, gate=gate)
    keys = ["a", "b"] * 4
    pipes = {"a": a, "b": b}
    box: list = []
    t = threading.Thread(
        target=lambda: box.extend(
            _concurrently(lambda k: batcher.predict(k, pipes[k], schema, X.head(2)), keys)
        )
    )
    t.start()
    _wait_for(lambda: batcher.pending("a") + batcher.pending("b") == 6, "queued requests")
    gate.set()
    t.join(30)
    assert not any(isinstance(r, Exception) for r in box)
    assert sum(a.calls) == sum(b.calls) == 8  # 4 requests x 2 rows each, per version


def test_a_request_with_missing_columns_fails_alone_before_batching(iris):
    model, schema, X = iris
    batcher, pipe = MicroBatcher(), CountingPipeline(model)
    requests = _chunks(X, 8)
    requests[3] = requests[3].drop(columns="petal_width")
    results = _concurrently(lambda df: batcher.predict("v1", pipe, schema, df), requests)
    assert isinstance(results[3], InvalidInput) and "petal_width" in str(results[3])
    assert batcher.stats.requests == 7  # it never joined a batch
    for i, r in enumerate(results):
        if i != 3:
            assert not isinstance(r, Exception), r
            assert len(r[0]) == len(requests[i])


def test_a_request_failing_inside_the_pipeline_fails_only_itself(iris):
    model, schema, X = iris
    gate = threading.Event()
    batcher, pipe = MicroBatcher(), CountingPipeline(model, gate=gate)
    requests = _chunks(X, 6)
    bad = requests[4].copy()
    bad["sepal_length"] = -1.0
    requests[4] = bad
    box: list = []
    blocker = threading.Thread(target=lambda: batcher.predict("v1", pipe, schema, X.head(1)))
    blocker.start()
    _wait_for(pipe.entered.is_set, "the blocking batch")
    t = threading.Thread(
        target=lambda: box.extend(
            _concurrently(lambda df: batcher.predict("v1", pipe, schema, df), requests)
        )
    )
    t.start()
    _wait_for(lambda: batcher.pending("v1") == 6, "the six to queue")
    gate.set()
    t.join(30)
    blocker.join(30)
    assert isinstance(box[4], ValueError)
    reference = CountingPipeline(model)
    for i, r in enumerate(box):
        if i != 4:
            pd.testing.assert_frame_equal(r[0], predict_frame(reference, schema, requests[i])[0])
    # the combined call failed, then each of the six was predicted on its own
    assert len(pipe.calls) == 1 + 1 + 6


def test_under_load_the_leader_waits_a_bounded_window(iris):
    model, schema, X = iris
    batcher, pipe = MicroBatcher(max_wait_s=0.002), CountingPipeline(model)
    for lane_load in (1.0, 5.0):
        lane = batcher._lanes.setdefault("v1", _Lane(load=lane_load))
        batcher.predict("v1", pipe, schema, X.head(1))
    assert batcher.stats.waits == 1  # idle lane: no wait; busy history: one bounded wait
    assert lane.load < 5.0  # a lone request pulls the load estimate back towards idle


def test_extra_columns_warn_per_request(iris):
    model, schema, X = iris
    batcher, pipe = MicroBatcher(), CountingPipeline(model)
    df = X.head(2).assign(note="x")
    _, warnings = batcher.predict("v1", pipe, schema, df)
    assert warnings == ["ignored columns the model does not use: note"]
