"""Prometheus metrics: HTTP traffic per route template, the database pool and the garbage
collector's pauses.

With several worker processes (`linguo serve --workers N` sets PROMETHEUS_MULTIPROC_DIR),
prometheus-client's multiprocess mode aggregates every worker's values, so a scrape
answered by any worker reports the whole server.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client import Metric
    from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
WORKER_STATS_INTERVAL_SECONDS = 5.0

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

GC_PAUSES = Histogram(
    "linguo_gc_pause_seconds",
    "Passes of the cyclic garbage collector in serving workers, by generation (2 is a full "
    "pass); each stops its worker, requests in flight included.",
    ["generation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=registry,
)


class GarbageCollectorTimer:
    """Times each pass of the collector (a `gc.callbacks` entry) for `GC_PAUSES`.

    A pass runs inside whichever allocation triggered it, possibly while that thread holds
    prometheus-client's lock, so the callback only appends to a queue; `flush` records the
    queued passes from ordinary code.
    """

    def __init__(self) -> None:
        self._started = 0.0
        self.pending: deque[tuple[int, float]] = deque(maxlen=100_000)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        """The collector's callback: `phase` is "start" or "stop"."""
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pending.append((info["generation"], time.perf_counter() - self._started))

    def flush(self) -> None:
        """Record the passes queued since the last flush."""
        while self.pending:
            generation, seconds = self.pending.popleft()
            GC_PAUSES.labels(str(generation)).observe(seconds)


_gc_timer = GarbageCollectorTimer()


def watch_garbage_collector() -> None:
    """Time the collector's passes in this process (a serving worker, at start-up)."""
    if _gc_timer not in gc.callbacks:
        gc.callbacks.append(_gc_timer)


def unwatch_garbage_collector() -> None:
    """Stop timing the collector's passes (at shutdown), recording those still queued."""
    if _gc_timer in gc.callbacks:
        gc.callbacks.remove(_gc_timer)
    _gc_timer.flush()


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


async def publish_worker_stats(engine: AsyncEngine) -> None:
    """Multiprocess mode: keep this worker's pool gauges and collector pauses current until
    cancelled."""
    while True:
        for name, (_, attribute) in _POOL_GAUGES.items():
            _pool_gauges[name].set(_pool_reading(engine, attribute))
        _gc_timer.flush()
        await asyncio.sleep(WORKER_STATS_INTERVAL_SECONDS)


def render_latest() -> bytes:
    """The text exposition of every metric (of all workers in multiprocess mode)."""
    _gc_timer.flush()
    if MULTIPROCESS_DIR:
        scrape = CollectorRegistry()
        MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
        return generate_latest(scrape)
    return generate_latest(registry)
