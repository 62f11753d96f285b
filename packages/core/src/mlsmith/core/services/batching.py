"""Adaptive micro-batching of predict calls: concurrent requests for the same model version are
coalesced into one ``predict_frame`` call, then split back in order.

No background thread: the first request that finds nobody predicting for its key becomes the
*leader*. It takes every pending request (up to ``max_rows`` rows), predicts them as one frame and
hands each follower its slice. Requests arriving while a batch is running queue up and form the
next batch, so batches grow with load by themselves. On top of that the leader may wait a short
*window* for more arrivals; the window is adaptive: 0 while the server is idle (a lone request
never waits), growing with the recent batch size to at most ``max_wait_s`` under load.

Correctness under errors: each request's schema is checked on its own before it is queued (a
request with missing columns fails alone and never joins a batch); requests are only combined with
others of identical feature dtypes (so concatenation cannot change how a column is read); and if a
combined prediction still raises, its requests are predicted one by one so only the bad one fails.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlsmith.core.engine import predict_frame

DEFAULT_MAX_ROWS = 4096
DEFAULT_MAX_WAIT_S = 0.004
PER_REQUEST_WAIT_S = 0.0005  # window added per request of recent load beyond the first
EWMA_ALPHA = 0.2


class _NoPipeline:
    """Stands in for a pipeline when only the schema of a request is being checked."""


@dataclass(eq=False)
class _Request:
    X: pd.DataFrame  # feature columns only, in schema order, positional index
    index: pd.Index  # the caller's index, restored on the result
    signature: tuple  # feature dtypes: only identical signatures are combined
    done: bool = False
    result: pd.DataFrame | None = None
    error: BaseException | None = None


@dataclass(eq=False)
class _Lane:
    """Pending requests of one model version."""

    pending: list[_Request] = field(default_factory=list)
    busy: bool = False  # a leader is collecting or predicting
    load: float = 1.0  # EWMA of requests per batch


@dataclass
class BatcherStats:
    predict_calls: int = 0  # calls of predict_frame on combined frames
    batches: int = 0
    requests: int = 0
    waits: int = 0  # batches whose leader waited for the window
    max_batch_requests: int = 0


class MicroBatcher:
    def __init__(
        self,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        per_request_wait_s: float = PER_REQUEST_WAIT_S,
    ) -> None:
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self.per_request_wait_s = per_request_wait_s
        self.stats = BatcherStats()
        self._cond = threading.Condition()
        self._lanes: dict[str, _Lane] = {}

    def predict(
        self, key: str, pipeline: Any, schema: dict[str, Any], df: pd.DataFrame
    ) -> tuple[pd.DataFrame, list[str]]:
        """Same result as ``predict_frame(pipeline, schema, df)``; ``key`` names the model
        version (requests share a batch only with requests of the same key)."""
        # Per-request checks first: a request with missing columns raises here, alone.
        _, warnings = predict_frame(_NoPipeline(), schema, df.iloc[:0])
        req = _prepare(schema, df)
        if len(req.X) == 0 or len(req.X) >= self.max_rows:
            out, _ = predict_frame(pipeline, schema, req.X)
            out.index = req.index
            return out, warnings
        with self._cond:
            lane = self._lanes.setdefault(key, _Lane())
            lane.pending.append(req)
            self.stats.requests += 1
            while not req.done and lane.busy:
                self._cond.wait()
            if req.done:
                return self._finish(req, warnings)
            lane.busy = True  # this request leads the next batch
            batch = self._collect(lane, req)
        try:
            self._run(pipeline, schema, batch)
        finally:
            with self._cond:
                lane.busy = False
                if not lane.pending:
                    self._lanes.pop(key, None)
                self._cond.notify_all()
        return self._finish(req, warnings)

    def pending(self, key: str) -> int:
        """Requests queued for ``key`` and not yet taken into a batch (for tests and metrics)."""
        with self._cond:
            lane = self._lanes.get(key)
            return len(lane.pending) if lane else 0

    def _collect(self, lane: _Lane, leader: _Request) -> list[_Request]:
        """Called with the lock held. Waits the adaptive window, then takes the batch: the leader
        plus pending requests of the same dtypes, oldest first, within ``max_rows``."""
        window = min(self.max_wait_s, self.per_request_wait_s * max(0.0, lane.load - 1.0))
        if window > 0 and _rows(lane.pending) < self.max_rows:
            self.stats.waits += 1
            deadline = time.monotonic() + window
            while _rows(lane.pending) < self.max_rows:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        batch, rows, rest = [leader], len(leader.X), []
        for r in lane.pending:
            if r is leader:
                continue
            if r.signature == leader.signature and rows + len(r.X) <= self.max_rows:
                batch.append(r)
                rows += len(r.X)
            else:
                rest.append(r)
        lane.pending = rest
        lane.load += EWMA_ALPHA * (len(batch) - lane.load)
        self.stats.batches += 1
        self.stats.max_batch_requests = max(self.stats.max_batch_requests, len(batch))
        return batch

    def _run(self, pipeline: Any, schema: dict[str, Any], batch: list[_Request]) -> None:
        """Predict the batch outside the lock; every request ends with a result or an error."""
        try:
            try:
                combined = pd.concat([r.X for r in batch], ignore_index=True)
                with self._cond:
                    self.stats.predict_calls += 1
                out, _ = predict_frame(pipeline, schema, combined)
                start = 0
                for r in batch:
                    part = out.iloc[start : start + len(r.X)].copy()
                    part.index = r.index
                    r.result, start = part, start + len(r.X)
            except Exception:
                if len(batch) == 1:
                    raise
                for r in batch:  # isolate the failing request(s)
                    try:
                        with self._cond:
                            self.stats.predict_calls += 1
                        part, _ = predict_frame(pipeline, schema, r.X)
                        part.index = r.index
                        r.result = part
                    except Exception as exc:
                        r.error = exc
        except BaseException as exc:
            for r in batch:
                if r.result is None and r.error is None:
                    r.error = exc
        finally:
            with self._cond:
                for r in batch:
                    r.done = True
                self._cond.notify_all()

    @staticmethod
    def _finish(req: _Request, warnings: list[str]) -> tuple[pd.DataFrame, list[str]]:
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result, warnings


def _prepare(schema: dict[str, Any], df: pd.DataFrame) -> _Request:
    features = [f["name"] for f in schema["features"]]
    present = {str(c): c for c in df.columns}
    X = df[[present[c] for c in features]].copy()
    X.columns = features
    index = X.index
    X = X.reset_index(drop=True)
    return _Request(X=X, index=index, signature=tuple(str(t) for t in X.dtypes))


def _rows(reqs: list[_Request]) -> int:
    return sum(len(r.X) for r in reqs)


default_batcher = MicroBatcher()
