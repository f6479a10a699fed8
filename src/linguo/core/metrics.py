"""Prometheus metrics: HTTP traffic per route template and the database pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client import Metric
    from sqlalchemy.ext.asyncio import AsyncEngine

registry = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "linguo_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=registry,
)
HTTP_LATENCY = Histogram(
    "linguo_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0),
    registry=registry,
)


class DatabasePoolCollector(Collector):
    """Reads the pool counters of the process's engines at scrape time (summed)."""

    def __init__(self) -> None:
        self.engines: list[AsyncEngine] = []

    def collect(self) -> Iterator[Metric]:
        """Yield the pool gauges."""
        gauges = {
            "linguo_db_pool_size": ("Connections the pool keeps open.", "size"),
            "linguo_db_pool_checked_out": ("Connections in use.", "checkedout"),
            "linguo_db_pool_checked_in": ("Idle connections in the pool.", "checkedin"),
            "linguo_db_pool_overflow": ("Connections opened beyond the pool size.", "overflow"),
        }
        if not self.engines:
            return
        for name, (doc, attribute) in gauges.items():
            readers = [getattr(engine.pool, attribute, None) for engine in self.engines]
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], float(sum(reader() for reader in readers if reader is not None)))
            yield family


_pool_collector = DatabasePoolCollector()
registry.register(_pool_collector)


def watch_database_pool(engine: AsyncEngine) -> None:
    """Export the pool gauges of `engine` (at start-up)."""
    if engine not in _pool_collector.engines:
        _pool_collector.engines.append(engine)


def unwatch_database_pool(engine: AsyncEngine) -> None:
    """Stop exporting the pool gauges of `engine` (at shutdown)."""
    if engine in _pool_collector.engines:
        _pool_collector.engines.remove(engine)
