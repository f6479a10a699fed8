"""Prometheus metrics: HTTP traffic per route template and the database pool.

With several worker processes (`linguo serve --workers N` sets PROMETHEUS_MULTIPROC_DIR),
prometheus-client's multiprocess mode aggregates every worker's values, so a scrape
answered by any worker reports the whole server.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client import Metric
    from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
POOL_STATS_INTERVAL_SECONDS = 5.0

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


_POOL_GAUGES = {
    "linguo_db_pool_size": ("Connections the pool keeps open.", "size"),
    "linguo_db_pool_checked_out": ("Connections in use.", "checkedout"),
    "linguo_db_pool_checked_in": ("Idle connections in the pool.", "checkedin"),
    "linguo_db_pool_overflow": ("Connections opened beyond the pool size.", "overflow"),
}


def _pool_reading(engine: AsyncEngine, attribute: str) -> float:
    reader = getattr(engine.pool, attribute, None)
    return float(reader()) if reader is not None else 0.0


class DatabasePoolCollector(Collector):
    """Reads the pool counters of the process's engines at scrape time (summed)."""

    def __init__(self) -> None:
        self.engines: list[AsyncEngine] = []

    def collect(self) -> Iterator[Metric]:
        """Yield the pool gauges."""
        if not self.engines:
            return
        for name, (doc, attribute) in _POOL_GAUGES.items():
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], sum(_pool_reading(e, attribute) for e in self.engines))
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


# In multiprocess mode each worker writes its pool readings to the shared files every few
# seconds, and a scrape sums the live workers' values.
_pool_gauges = (
    {
        name: Gauge(name, doc, multiprocess_mode="livesum", registry=None)
        for name, (doc, _) in _POOL_GAUGES.items()
    }
    if MULTIPROCESS_DIR
    else {}
)


async def publish_pool_stats(engine: AsyncEngine) -> None:
    """Multiprocess mode: keep this worker's pool gauges current until cancelled."""
    while True:
        for name, (_, attribute) in _POOL_GAUGES.items():
            _pool_gauges[name].set(_pool_reading(engine, attribute))
        await asyncio.sleep(POOL_STATS_INTERVAL_SECONDS)


def render_latest() -> bytes:
    """The text exposition of every metric (of all workers in multiprocess mode)."""
    if MULTIPROCESS_DIR:
        scrape = CollectorRegistry()
        MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
        return generate_latest(scrape)
    return generate_latest(registry)
