"""Per-deployment serving statistics: request / error / row counters and latency percentiles.

Kept **in process** (a module-level table, no DB writes on the hot path): each server process
counts the calls it served since it started. Behind a load balancer with several processes, each
reports its own share; aggregate them with Prometheus (the server exports the same counters) rather
than reading one process's ``/stats``.

Latency percentiles are computed over a bounded ring of the most recent ``WINDOW`` calls, so memory
per deployment is constant and p50 / p95 follow the current behaviour rather than all history.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from mlsmith.core.domain.ids import utcnow

WINDOW = 4096  # recent latencies kept per deployment


@dataclass
class _Counters:
    requests: int = 0
    errors: int = 0
    rows: int = 0
    since: datetime = field(default_factory=utcnow)
    last_request_at: datetime | None = None
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))


@dataclass(frozen=True)
class StatsSnapshot:
    deployment_id: str
    requests: int
    errors: int
    rows: int
    since: datetime
    last_request_at: datetime | None
    latency_ms: dict[str, float | None]  # p50, p95, p99, max over the recent window
    window: int  # how many recent calls the percentiles cover


_lock = threading.Lock()
_table: dict[str, _Counters] = {}


def record(deployment_id: str, seconds: float, *, ok: bool, rows: int = 0) -> None:
    with _lock:
        c = _table.get(deployment_id)
        if c is None:
            c = _table[deployment_id] = _Counters()
        c.requests += 1
        c.errors += 0 if ok else 1
        c.rows += rows
        c.last_request_at = utcnow()
        c.latencies.append(seconds)


class _Call:
    rows: int = 0


@contextmanager
def track(
    deployment_id: str, *, also: Callable[[float, bool], None] | None = None
) -> Iterator[_Call]:
    """Time a call and record it; an exception counts as an error and propagates. Set
    ``call.rows`` inside the block to count predicted rows. ``also(seconds, ok)`` is called after
    recording (the server feeds its Prometheus metrics this way; core stays free of them)."""
    call = _Call()
    start = time.perf_counter()
    try:
        yield call
    except BaseException:
        seconds = time.perf_counter() - start
        record(deployment_id, seconds, ok=False)
        if also is not None:
            also(seconds, False)
        raise
    seconds = time.perf_counter() - start
    record(deployment_id, seconds, ok=True, rows=call.rows)
    if also is not None:
        also(seconds, True)


def snapshot(deployment_id: str) -> StatsSnapshot:
    with _lock:
        c = _table.get(deployment_id) or _Counters()
        lat = sorted(c.latencies)
        counts = (c.requests, c.errors, c.rows, c.since, c.last_request_at)
    return StatsSnapshot(
        deployment_id,
        *counts,
        latency_ms={
            "p50": _ms(_percentile(lat, 50)),
            "p95": _ms(_percentile(lat, 95)),
            "p99": _ms(_percentile(lat, 99)),
            "max": _ms(lat[-1] if lat else None),
        },
        window=len(lat),
    )


def forget(deployment_id: str) -> None:
    with _lock:
        _table.pop(deployment_id, None)


def _percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
