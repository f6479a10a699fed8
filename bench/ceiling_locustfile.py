"""A closed loop on one route for bench/run.py's ceiling check when wrk is not installed.

Each locust user sends the next request as soon as the previous one is answered. The route
and headers come from LINGUO_BENCH_CEILING_PATH and LINGUO_BENCH_CEILING_HEADERS (JSON).
"""

from __future__ import annotations

import json
import os

from locust import FastHttpUser, constant, task

PATH = os.environ.get("LINGUO_BENCH_CEILING_PATH", "/healthz")
HEADERS: dict[str, str] = json.loads(os.environ.get("LINGUO_BENCH_CEILING_HEADERS", "{}"))


class Hammer(FastHttpUser):
    """GET one route in a loop, without waiting."""

    wait_time = constant(0)

    @task
    def get(self) -> None:
        """One request; anything but 200 is a failure."""
        self.client.get(PATH, headers=HEADERS, name=PATH)
