"""Prometheus metrics of one app: requests by route template and status, latency histograms, and a
runs-by-status gauge read from the metadata store at scrape time. Each app has its own registry,
so two apps in one process (tests) never clash."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "<unmatched>"  # any path no route matched: one label value, not one per path


class _RunsCollector:
    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def describe(self) -> list[Metric]:
        return []  # collected lazily: never touch the database at registration

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("mlsmith_runs", "Runs by status", labels=["status"])
        try:
            counts = self._counts()
        except Exception:  # a failing database must not fail the scrape of the other metrics
            counts = {}
        for status, n in sorted(counts.items()):
            family.add_metric([status], n)
        yield family


class Metrics:
    def __init__(self, run_counts: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlsmith_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mlsmith_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.registry.register(_RunsCollector(run_counts))  # type: ignore[arg-type]
        # id(route object) -> the path it is served at (its router prefix included); filled by
        # create_app once the routers are in, read by route_template.
        self.templates: dict[int, str] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def route_template(self, scope: dict[str, Any]) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        path = self.templates.get(id(route), getattr(route, "path", None))
        return path if isinstance(path, str) else UNMATCHED
