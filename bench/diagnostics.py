"""Where the time goes during a load run: PostgreSQL's statement statistics, the API workers'
garbage-collector pauses and a py-spy profile.

`bench/run.py` always collects the statements (pg_stat_statements costs little and is what an
operator would look at first) and the collector's pauses (from the API's `/metrics`) and, with
`--profile`, samples the API workers with py-spy.
The profile slows the server down, so figures of a profiled run are not the benchmark's
figures; profile a separate run.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.parser import text_string_to_metric_families
from tests.services import _postgres_bin

BIN_DIR = Path(sys.executable).parent
# Frames of these files are our code (or the libraries whose cost we can change by using them
# differently); the profile summary groups by them.
OWN_CODE = ("linguo/",)
TOP_FUNCTIONS = 30
STATEMENT_TEXT_CHARS = 160


# --- pg_stat_statements -----------------------------------------------------------------------


def _psql(url: str, sql: str) -> list[list[str]]:
    """Rows of one statement, through psql (tab-separated, unaligned)."""
    result = subprocess.run(
        [_postgres_bin("psql"), url, "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line.split("\t") for line in result.stdout.splitlines() if line]


class StatementStats:
    """pg_stat_statements of the benchmark database (the server preloads the library)."""

    def __init__(self, url: str):
        self.url = url

    def enable(self) -> None:
        """Create the extension in the database the API uses."""
        _psql(self.url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def reset(self) -> None:
        """Forget everything counted so far (called before each load run)."""
        _psql(self.url, "SELECT pg_stat_statements_reset()")

    def top(self) -> dict[str, Any]:
        """The 15 statements that took the most database time since the last reset."""
        total = _psql(
            self.url,
            "SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0) "
            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())",
        )[0]
        rows = _psql(
            self.url,
            "SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3), "
            "rows, regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT 15",
        )
        return {
            "calls": int(total[0]),
            "total_ms": round(float(total[1]), 1),
            "statements": [
                {
                    "calls": int(calls),
                    "total_ms": float(total_ms),
                    "mean_ms": float(mean_ms),
                    "rows": int(rows_count),
                    "query": query[:STATEMENT_TEXT_CHARS],
                }
                for calls, total_ms, mean_ms, rows_count, query in rows
            ],
        }


def print_statements(figures: dict[str, Any]) -> None:
    """The statements table."""
    print(
        f"\nDatabase: {figures['calls']} statements, {figures['total_ms'] / 1000:.1f} s "
        "of execution in all; the most expensive:"
    )
    print(f"{'total ms':>10}{'calls':>8}{'mean ms':>9}  statement")
    for row in figures["statements"]:
        print(f"{row['total_ms']:>10.0f}{row['calls']:>8}{row['mean_ms']:>9.2f}  {row['query']}")


# --- CPU per part of the stack -----------------------------------------------------------------


def _tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) so far of a process and each of its descendants.

    A process's figure includes its ended children's (PostgreSQL's postmaster counts the
    backends of connections closed so far, which under load are many: the pool opens and
    closes its overflow connections).
    """
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return {}
    seconds: dict[int, float] = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            seconds[process.pid] = (
                times.user + times.system + times.children_user + times.children_system
            )
    return seconds


class CpuAccount:
    """How many CPU seconds each part of the stack (a process tree each) used during a block.

    A process that ends during the block counts once its parent in the tree has waited for
    it (PostgreSQL's backends); one whose parent is outside the tree does not (the API,
    database and Redis processes live through a run).
    """

    def __init__(self, parts: dict[str, int]):
        self.parts = dict(parts)
        self._start: dict[str, dict[int, float]] = {}
        self._seconds: dict[str, float] = {}
        self._busiest: dict[str, list[float]] = {}
        self._started_at = 0.0
        self._machine_start: Any = None
        self._machine: dict[str, float] = {}
        self.wall_s = 0.0

    def record(self, name: str, cpu_seconds: float) -> None:
        """Count a part measured otherwise (a child process that has ended, by its rusage)."""
        self._seconds[name] = self._seconds.get(name, 0.0) + cpu_seconds

    def __enter__(self) -> CpuAccount:
        self._started_at = time.monotonic()
        self._machine_start = psutil.cpu_times()
        self._start = {name: _tree_cpu_seconds(pid) for name, pid in self.parts.items()}
        return self

    def __exit__(self, *_: object) -> None:
        self.wall_s = time.monotonic() - self._started_at
        self._machine = _machine_shares(self._machine_start, psutil.cpu_times())
        for name, pid in self.parts.items():
            before = self._start.get(name, {})
            now = _tree_cpu_seconds(pid)
            used = [
                max(seconds - before.get(process, 0.0), 0.0) for process, seconds in now.items()
            ]
            self._seconds[name] = self._seconds.get(name, 0.0) + sum(used)
            # Each API worker is one event loop: a busy one queues its requests while the
            # other idles, so the share of the busiest processes matters, not only the sum.
            self._busiest[name] = sorted(used, reverse=True)[:3]

    def report(self) -> dict[str, Any]:
        """CPU seconds per part and the share of the machine's cores over the block."""
        capacity = max(self.wall_s * (os.cpu_count() or 1), 1e-9)
        return {
            "wall_s": round(self.wall_s, 1),
            "parts": {
                name: {
                    "cpu_s": round(seconds, 1),
                    "share_of_cores": round(seconds / capacity, 3),
                    "busiest_processes_cpu_s": [
                        round(used, 1) for used in self._busiest.get(name, [])
                    ],
                }
                for name, seconds in sorted(self._seconds.items(), key=lambda item: -item[1])
            },
            "machine": self._machine,
        }


# The machine's CPU time by kind, as the kernel counts it for all processes together.
MACHINE_CPU_KINDS = ("user", "nice", "system", "irq", "softirq", "steal", "iowait", "idle")


def _machine_shares(before: Any, after: Any) -> dict[str, float]:
    """Each kind's share of all CPU time between two psutil.cpu_times() readings.

    `steal` is time the hypervisor gave to other guests: a virtual machine with a high share
    runs everything slower than its cores suggest. `softirq` is mostly the network stack
    (loopback traffic between locust, the API, PostgreSQL and Redis).
    """
    spent = {
        kind: max(getattr(after, kind, 0.0) - getattr(before, kind, 0.0), 0.0)
        for kind in MACHINE_CPU_KINDS
    }
    total = sum(spent.values()) or 1e-9
    return {kind: round(seconds / total, 3) for kind, seconds in spent.items()}


def ended_children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def print_cpu(figures: dict[str, Any]) -> None:
    """The CPU table."""
    print(f"\nCPU over the run ({figures['wall_s']:.0f} s, ramp-up included)")
    for name, row in figures["parts"].items():
        busiest = row.get("busiest_processes_cpu_s", [])
        processes = (
            "  busiest processes: " + ", ".join(f"{used:.1f} s" for used in busiest)
            if len(busiest) > 1
            else ""
        )
        share = f"{row['share_of_cores']:>6.1%} of the cores"
        print(f"{name:<26}{row['cpu_s']:>8.1f} s  {share}{processes}")
    machine = figures.get("machine") or {}
    if machine:
        kinds = ", ".join(f"{kind} {share:.1%}" for kind, share in machine.items() if share)
        print(f"machine (all processes and the kernel): {kinds}")


# --- the garbage collector's pauses (the API's /metrics) --------------------------------------

GC_PAUSES_METRIC = "linguo_gc_pause_seconds"


def read_gc_pauses(base_url: str) -> dict[str, dict[str, Any]]:
    """The API workers' collector passes so far, by generation: their number, their pauses
    in all and the histogram's cumulative buckets. Empty when /metrics does not answer."""
    try:
        with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:  # noqa: S310
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    readings: dict[str, dict[str, Any]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != GC_PAUSES_METRIC:
            continue
        for sample in family.samples:
            reading = readings.setdefault(
                sample.labels["generation"], {"passes": 0.0, "seconds": 0.0, "buckets": {}}
            )
            suffix = sample.name[len(GC_PAUSES_METRIC) :]
            if suffix == "_count":
                reading["passes"] = sample.value
            elif suffix == "_sum":
                reading["seconds"] = sample.value
            elif suffix == "_bucket":
                reading["buckets"][float(sample.labels["le"])] = sample.value
    return readings


def gc_pauses_between(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per generation, the passes between two readings, their pauses in all (ms) and the
    histogram bound under which every one of them fell (ms; None: above the last bound)."""
    figures: dict[str, dict[str, Any]] = {}
    if not after:
        return figures
    nothing: dict[str, Any] = {"passes": 0.0, "seconds": 0.0, "buckets": {}}
    for generation in ("0", "1", "2"):
        now, then = after.get(generation, nothing), before.get(generation, nothing)
        passes = round(now["passes"] - then["passes"])
        bound = next(
            (
                upper
                for upper, count in sorted(now["buckets"].items())
                if count - then["buckets"].get(upper, 0.0) >= passes
            ),
            math.inf,
        )
        figures[generation] = {
            "passes": passes,
            "pause_ms": round((now["seconds"] - then["seconds"]) * 1000, 1),
            "each_under_ms": None if not passes or math.isinf(bound) else bound * 1000,
        }
    return figures


def print_gc_pauses(figures: dict[str, dict[str, Any]]) -> None:
    """The collector table: a full pass (generation 2) stops a worker with its requests."""
    if not figures:
        return
    print("\nGarbage collector in the API workers over the run (ramp-up included)")
    for generation, row in figures.items():
        name = "full passes (2)" if generation == "2" else f"generation {generation}"
        bound = row["each_under_ms"]
        longest = f", each under {bound:g} ms" if bound is not None else ""
        print(f"{name:<18}{row['passes']:>6} passes, {row['pause_ms']:>8.1f} ms in all{longest}")


# --- py-spy -----------------------------------------------------------------------------------


def py_spy_path() -> str | None:
    """The py-spy executable (installed by `.[bench]`), if any."""
    candidate = BIN_DIR / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def profiling(pid: int, output: Path, rate: int) -> Iterator[None]:
    """Sample `pid` and its worker processes with py-spy while the block runs.

    The samples are written as collapsed stacks ("frame;frame;frame count" per line).
    """
    executable = py_spy_path()
    if executable is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    command = [
        executable,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--nonblocking",
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    log = output.with_suffix(".log")
    with log.open("wb") as sink:
        recorder = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            try:
                recorder.wait(60)
            except subprocess.TimeoutExpired:
                recorder.kill()


def _function(frame: str) -> str:
    """`name (path/to/file.py:12)` -> `name (file.py)`: lines of one function count together."""
    name, _, location = frame.partition(" (")
    path = location.rsplit(":", 1)[0].rstrip(")")
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarise_profile(path: Path, limit: int = TOP_FUNCTIONS) -> dict[str, Any]:
    """Share of the workers' samples per function: inclusive (with callees) and own.

    Only samples of active threads are recorded, so the shares are of busy CPU time, not of
    waiting.
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    own_code: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # The first frames are the process and the thread, then the Python frames.
        frames = [_function(frame) for frame in stack.split(";")[2:] if " (" in frame]
        if not frames:
            continue
        total += count
        for function in set(frames):
            inclusive[function] += count
        own[frames[-1]] += count
        ours = [function for function in frames if any(mark in function for mark in OWN_CODE)]
        if ours:
            own_code[ours[-1]] += count  # the deepest frame of our code pays for its callees

    def shares(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": function, "share": round(count / total, 4)}
            for function, count in counter.most_common(limit)
        ]

    return {
        "samples": total,
        "inclusive": shares(inclusive),
        "own": shares(own),
        "deepest_own_code": shares(own_code),
    }


def print_profile(summary: dict[str, Any]) -> None:
    """The three profile tables."""
    print(f"\nProfile of the API workers ({summary['samples']} busy samples)")
    titles = {
        "inclusive": "with callees",
        "own": "own time",
        "deepest_own_code": "Linguo code, deepest frame (pays for the libraries it calls)",
    }
    for key, title in titles.items():
        print(f"-- {title}")
        for row in summary[key][:20]:
            print(f"{row['share']:>7.1%}  {row['function']}")
