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
    """Reads the SQLAlchemy pool's counters at scrape time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        """Yield the pool gauges."""
        pool = self.engine.pool
        gauges = {
            "linguo_db_pool_size": ("Connections the pool keeps open.", "size"),
            "linguo_db_pool_checked_out": ("Connections in use.", "checkedout"),
            "linguo_db_pool_checked_in": ("Idle connections in the pool.", "checkedin"),
            "linguo_db_pool_overflow": ("Connections opened beyond the pool size.", "overflow"),
        }
        for name, (doc, attribute) in gauges.items():
            reader = getattr(pool, attribute, None)
            if reader is None:
                continue
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], float(reader()))
            yield family


_pool_collector: DatabasePoolCollector | None = None


def watch_database_pool(engine: AsyncEngine) -> None:
    """Export the pool gauges of `engine` (replacing any engine watched before)."""
    global _pool_collector
    if _pool_collector is not None:
        registry.unregister(_pool_collector)
    _pool_collector = DatabasePoolCollector(engine)
    registry.register(_pool_collector)
