"""Load test: Linguo served as in production, a ceiling check, then a day of learners (locust).

`make bench [USERS=300 DURATION=60 STEP=]` runs `python -m bench.run`. In order:

1. starts PostgreSQL (Debian's, durable settings: fsync and synchronous commit on) and Redis
   on free loopback ports, migrates and loads the demo data (`linguo seed`). The API and the
   Celery worker reach PostgreSQL over its Unix socket, as a server with its database on the
   same machine should (`--tcp-database`: over TCP loopback instead);
2. starts `linguo serve` as recommended for production: one worker per core, LINGUO_ENV=
   production with a generated secret key, Redis for cache, rate limits and jobs, WARNING
   logs; plus one `linguo worker` (Celery) as a deployment runs next to it. The rate limits
   are raised (LINGUO_RATE_LIMIT_IP/USER/AUTH) so that thousands of sign-ups from one
   machine are not refused; the limiter still runs (and costs the same) on every request;
3. ceiling check: hammers the bare `/healthz`, `GET /users/me`, a plain primary-key read
   (`GET /vocabulary/{id}`) and the other hot read routes with a closed loop (wrk, else
   locust without waits) for a few seconds each, and reports each one's throughput as a
   fraction of `/healthz`'s;
4. runs bench/locustfile.py headless: `--users` learners spawned at `--spawn-rate` per second,
   then `--duration` seconds measured (statistics are reset once all are spawned), while
   sampling the resident memory (RSS) of the API worker processes;
5. prints one table per run (per route: requests/s, p50, p95, p99, failures, target) and
   writes everything to bench/results/<timestamp>.json, with the server logs and locust's
   CSV files in bench/results/<timestamp>/.

With `--step N` it runs N, 2N, 3N... learners until a run misses p95 < `--step-p95` ms (all
requests together) or has failures, and reports the largest user count that met it.
Everything it started is stopped at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import platform
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psutil
from bench.diagnostics import (
    CpuAccount,
    StatementStats,
    ended_children_cpu_seconds,
    gc_pauses_between,
    print_cpu,
    print_gc_pauses,
    print_profile,
    print_statements,
    profiling,
    py_spy_path,
    read_gc_pauses,
    summarise_profile,
)
from tests.services import PostgresServer, RedisServer, _postgres_bin, _wait_for_port, free_port

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
BIN_DIR = Path(sys.executable).parent
API = "/api/v1"
LANGUAGE = "fr"
UNLIMITED = "1000000/minute"
CONVERSATION_ROUTES = frozenset({"POST /sessions", "POST /sessions/{id}/messages"})
P95_TARGET_MS = 150.0
CONVERSATION_P95_TARGET_MS = 400.0
ME_VS_PRIMARY_KEY_TARGET = 0.5


def _log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- servers ---------------------------------------------------------------------------------


@dataclass
class BenchPostgres(PostgresServer):
    """tests/services.py's throwaway cluster, with durable production settings by default."""

    durable: bool = True
    max_connections: int = 300

    def start(self) -> None:
        """initdb and start; fsync and synchronous commit stay on unless `durable` is false."""
        data = self.root / "data"
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        initdb = [_postgres_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        self._run([*initdb, "-E", "UTF8", "--no-sync"])
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c max_connections={self.max_connections} "
            "-c shared_buffers=256MB -c effective_cache_size=1GB -c work_mem=8MB "
            "-c shared_preload_libraries=pg_stat_statements"
        )
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        pg_ctl = [_postgres_bin("pg_ctl"), "-D", str(data), "-l", str(self.root / "log")]
        self._run([*pg_ctl, "-o", options, "-w", "-t", "60", "start"])
        _wait_for_port(self.port, 30)


class Service:
    """A child process in a session of its own (Ctrl-C reaches only us), logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path, cwd: Path):
        self.name = name
        self.log = log
        self._file = log.open("ab")
        self.process = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=self._file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def running(self) -> bool:
        """True until the process exits."""
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        """The end of its log."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the process group, then SIGKILL what is left."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        else:
            # The leader has gone; its workers may not have.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._file.close()


def _keep_log(source: Path, target: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.copyfile(source, target)


def _run_checked(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> None:
    with log.open("ab") as file:
        result = subprocess.run(
            args, env=env, cwd=cwd, stdout=file, stderr=subprocess.STDOUT, timeout=900
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{tail}")


# --- HTTP -----------------------------------------------------------------------------------


def http(method: str, url: str, *, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    """A request with the standard library; returns (status, JSON body or None)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def wait_until_ready(base_url: str, server: Service, timeout: float = 180) -> None:
    """Poll /readyz until it answers 200; fail early if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.running():
            raise RuntimeError(f"linguo serve exited:\n{server.tail()}")
        with contextlib.suppress(OSError):
            status, _ = http("GET", base_url + "/readyz")
            if status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"/readyz not ready after {timeout}s:\n{server.tail()}")


# --- memory ---------------------------------------------------------------------------------


@dataclass
class MemorySampler:
    """Peak resident memory of the API processes (the serve process and its workers)."""

    server_pid: int
    interval: float = 0.5
    peak_by_pid: dict[int, int] = field(default_factory=dict)
    peak_workers_total: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _workers(self, leader: psutil.Process) -> list[psutil.Process]:
        workers = []
        for child in leader.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "resource_tracker" not in " ".join(child.cmdline()):
                    workers.append(child)
        return workers

    def sample(self) -> None:
        """Take one sample."""
        try:
            leader = psutil.Process(self.server_pid)
            processes = [leader, *self._workers(leader)]
        except psutil.Error:
            return
        total = 0
        for process in processes:
            try:
                rss = process.memory_info().rss
            except psutil.Error:
                continue
            self.peak_by_pid[process.pid] = max(self.peak_by_pid.get(process.pid, 0), rss)
            if process.pid != self.server_pid:
                total += rss
        self.peak_workers_total = max(self.peak_workers_total, total)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def report(self) -> dict[str, Any]:
        """Peaks in MiB: each worker, the largest, all workers together, the serve process."""
        mib = 1024 * 1024
        workers = {pid: rss for pid, rss in self.peak_by_pid.items() if pid != self.server_pid}
        return {
            "workers_peak_mib": {str(pid): round(rss / mib, 1) for pid, rss in workers.items()},
            "largest_worker_peak_mib": round(max(workers.values(), default=0) / mib, 1),
            "workers_total_peak_mib": round(self.peak_workers_total / mib, 1),
            "serve_process_peak_mib": round(self.peak_by_pid.get(self.server_pid, 0) / mib, 1),
        }


# --- ceiling check ----------------------------------------------------------------------------


@dataclass
class Target:
    """A route hammered by the ceiling check."""

    name: str
    path: str
    authenticated: bool = True


def _prepare_ceiling_user(base_url: str) -> tuple[str, int]:
    """A learner with some history (reviews, XP, a league); returns (token, a word id).

    Also used to warm the workers up.
    """
    email = f"ceiling-{uuid.uuid4().hex}@bench.linguo.dev"
    password = secrets.token_urlsafe(16)
    status, _ = http(
        "POST",
        base_url + API + "/auth/register",
        body={"email": email, "password": password, "target_language": LANGUAGE},
    )
    if status != 201:
        raise RuntimeError(f"registering the ceiling-check learner answered {status}")
    status, tokens = http(
        "POST", base_url + API + "/auth/login", body={"email": email, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"logging in the ceiling-check learner answered {status}")
    token: str = tokens["access_token"]
    status, page = http(
        "GET", f"{base_url}{API}/vocabulary?language={LANGUAGE}&limit=1", token=token
    )
    if status != 200 or not page["items"]:
        raise RuntimeError("no vocabulary: did `linguo seed` run?")
    word_id: int = page["items"][0]["id"]
    _, queue = http("GET", base_url + API + "/progress/queue?limit=20", token=token)
    for item in queue or []:
        if item.get("word_id") is not None:
            http(
                "POST",
                base_url + API + "/progress/review",
                token=token,
                body={"word_id": item["word_id"], "rating": 2},
            )
    return token, word_id


_DURATION_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Throughput, latency percentiles and errors from `wrk --latency` output."""
    figures: dict[str, Any] = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    figures["requests_per_s"] = float(match.group(1)) if match else 0.0
    for percent in ("50", "90", "99"):
        found = re.search(rf"^\s+{percent}%\s+(\S+)", output, re.MULTILINE)
        figures[f"p{percent}_ms"] = _wrk_latency_ms(found.group(1)) if found else None
    total = re.search(r"(\d+) requests in", output)
    figures["requests"] = int(total.group(1)) if total else 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    figures["errors"] = errors
    return figures


def hammer_with_wrk(
    url: str, headers: dict[str, str], seconds: int, connections: int, threads: int
) -> dict[str, Any]:
    """A closed loop with wrk: `connections` connections each sending the next request at once."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    result = subprocess.run(
        [*args, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    return parse_wrk(result.stdout)


def hammer_with_locust(
    host: str,
    path: str,
    headers: dict[str, str],
    seconds: int,
    connections: int,
    work_dir: Path,
) -> dict[str, Any]:
    """A closed loop with locust's FastHttpUser and no waits (when wrk is not installed)."""
    prefix = work_dir / f"ceiling-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "LINGUO_BENCH_CEILING_PATH": path,
        "LINGUO_BENCH_CEILING_HEADERS": json.dumps(headers),
    }
    args = [
        str(BIN_DIR / "locust"),
        "-f",
        str(BENCH_DIR / "ceiling_locustfile.py"),
        "--headless",
        "--host",
        host,
        "--users",
        str(connections),
        "--spawn-rate",
        str(connections),
        "--run-time",
        f"{seconds}s",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    subprocess.run(args, env=env, capture_output=True, timeout=seconds + 60, check=False)
    rows = read_locust_stats(Path(f"{prefix}_stats.csv"))
    row = rows.get("Aggregated", {})
    return {
        "requests_per_s": row.get("requests_per_s", 0.0),
        "p50_ms": row.get("p50_ms"),
        "p90_ms": row.get("p90_ms"),
        "p99_ms": row.get("p99_ms"),
        "requests": row.get("requests", 0),
        "errors": row.get("failures", 0),
    }


def _warm_up_once(base_url: str, token: str, message: str) -> None:
    status, created = http(
        "POST",
        base_url + API + "/sessions",
        token=token,
        body={"planned_duration_minutes": 5, "generate_greeting": True},
    )
    if status != 201:
        raise RuntimeError(f"warm-up: POST /sessions answered {status}: {created}")
    session_id = created["session"]["id"]
    status, turn = http(
        "POST",
        f"{base_url}{API}/sessions/{session_id}/messages",
        token=token,
        body={"content": message},
    )
    if status != 200:
        raise RuntimeError(f"warm-up: POST /sessions/{{id}}/messages answered {status}: {turn}")
    http(
        "PATCH", f"{base_url}{API}/sessions/{session_id}", token=token, body={"status": "completed"}
    )
    for path in ("/analytics/summary", "/leaderboard", "/shop", f"/courses?language={LANGUAGE}"):
        http("GET", base_url + API + path, token=token)


def warm_up(base_url: str, token: str, workers: int) -> None:
    """Load each worker's lazily loaded parts (language analysers: ~0.5 s) before measuring.

    Requests cannot be aimed at one worker, so several go at once, enough for each worker to
    take some.
    """
    message = "Hier je suis allé au marché avec mon ami et nous avons acheté des pommes."
    count = workers * 4
    with ThreadPoolExecutor(max_workers=count) as pool:
        for future in [pool.submit(_warm_up_once, base_url, token, message) for _ in range(count)]:
            future.result()


def ceiling_check(
    base_url: str, token: str, word_id: int, args: argparse.Namespace, work_dir: Path
) -> dict[str, Any]:
    """Hammer the bare endpoint and the hot read routes; throughput relative to /healthz."""
    targets = [
        Target("GET /healthz", "/healthz", authenticated=False),
        Target("GET /users/me", API + "/users/me"),
        Target("GET /vocabulary/{id}", f"{API}/vocabulary/{word_id}"),
        Target("GET /progress/queue", API + "/progress/queue?limit=5"),
        Target("GET /leaderboard", API + "/leaderboard"),
        Target("GET /analytics/summary", API + "/analytics/summary"),
        Target("GET /shop", API + "/shop"),
        Target("GET /courses", f"{API}/courses?language={LANGUAGE}"),
    ]
    tool = args.ceiling_tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "locust"
    results: list[dict[str, Any]] = []
    for target in targets:
        headers = {"Authorization": f"Bearer {token}"} if target.authenticated else {}
        _log(f"ceiling: {target.name} for {args.ceiling_seconds}s with {tool}")
        if tool == "wrk":
            figures = hammer_with_wrk(
                base_url + target.path,
                headers,
                args.ceiling_seconds,
                args.ceiling_connections,
                args.ceiling_threads,
            )
        else:
            figures = hammer_with_locust(
                base_url,
                target.path,
                headers,
                args.ceiling_seconds,
                args.ceiling_connections,
                work_dir,
            )
        results.append({"route": target.name, **figures})
    bare = results[0]["requests_per_s"] or math.nan
    by_route = {result["route"]: result for result in results}
    for result in results:
        result["fraction_of_healthz"] = round(result["requests_per_s"] / bare, 3)
    me = by_route["GET /users/me"]["requests_per_s"]
    primary_key = by_route["GET /vocabulary/{id}"]["requests_per_s"] or math.nan
    return {
        "tool": tool,
        "seconds": args.ceiling_seconds,
        "connections": args.ceiling_connections,
        "routes": results,
        "users_me_vs_primary_key_read": round(me / primary_key, 3),
    }


# --- the load test ----------------------------------------------------------------------------


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return math.nan


def read_locust_stats(path: Path) -> dict[str, dict[str, Any]]:
    """Locust's <prefix>_stats.csv, one entry per route plus "Aggregated"."""
    rows: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return rows
    with path.open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "requests_per_s": round(_number(row["Requests/s"]), 2),
                "p50_ms": _number(row["50%"]),
                "p90_ms": _number(row["90%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
                "max_ms": _number(row["Max Response Time"]),
            }
    return rows


def read_locust_failures(path: Path) -> list[dict[str, Any]]:
    """Locust's <prefix>_failures.csv: route, error and how often."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return [
            {
                "route": row["Name"],
                "error": row["Error"],
                "occurrences": int(row["Occurrences"]),
            }
            for row in csv.DictReader(file)
        ]


def read_locust_exceptions(path: Path) -> list[dict[str, Any]]:
    """Locust's <prefix>_exceptions.csv: errors raised by the scenario itself."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return [
            {"count": int(row["Count"]), "message": row["Message"], "where": row["Nodes"]}
            for row in csv.DictReader(file)
        ]


def route_target_ms(route: str) -> float:
    """The p95 the issue sets for a route."""
    return CONVERSATION_P95_TARGET_MS if route in CONVERSATION_ROUTES else P95_TARGET_MS


def run_load(stack: Stack, users: int, args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    """One headless locust run of `users` learners; figures of the measured part.

    The database statements, CPU times and the optional profile cover the whole run, ramp-up
    included.
    """
    base_url, server, statements = stack.base_url, stack.server, stack.statements
    ramp_seconds = math.ceil(users / args.spawn_rate)
    # The measured part starts when every learner has signed in (bench/locustfile.py) and
    # ends the locust run itself; the run time is only a safety limit.
    run_time = ramp_seconds + args.duration + 120 + users // 2
    prefix = work_dir / f"locust-{users}u"
    report_file = work_dir / f"locust-{users}u-window.json"
    env = {
        **os.environ,
        "LINGUO_BENCH_LANGUAGE": LANGUAGE,
        "LINGUO_BENCH_MEASURE_SECONDS": str(args.duration),
        "LINGUO_BENCH_REPORT_FILE": str(report_file),
    }
    command = [
        str(BIN_DIR / "locust"),
        "-f",
        str(BENCH_DIR / "locustfile.py"),
        "--headless",
        "--host",
        base_url,
        "--users",
        str(users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{run_time}s",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    _log(
        f"load: {users} learners, ramp-up {ramp_seconds}s at {args.spawn_rate}/s, "
        f"then {args.duration}s measured"
    )
    log = work_dir / f"locust-{users}u.log"
    profile_file = work_dir / f"profile-{users}u.txt"
    statements.reset()
    collector_before = read_gc_pauses(base_url)
    started = time.monotonic()
    with contextlib.ExitStack() as during:
        memory = during.enter_context(MemorySampler(server.pid))
        output = during.enter_context(log.open("wb"))
        cpu = during.enter_context(CpuAccount(stack.processes))
        if args.profile:
            during.enter_context(profiling(server.pid, profile_file, args.profile_rate))
        children_cpu = ended_children_cpu_seconds()
        locust = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            locust.wait(timeout=run_time + 120)
            cpu.record("load generator (locust)", ended_children_cpu_seconds() - children_cpu)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(locust.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                locust.wait(15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(locust.pid, signal.SIGKILL)
            raise
    elapsed = time.monotonic() - started
    collector = gc_pauses_between(collector_before, read_gc_pauses(base_url))
    database = statements.top()
    profile = summarise_profile(profile_file) if profile_file.exists() else None
    measured: dict[str, Any] = json.loads(report_file.read_text()) if report_file.exists() else {}
    # The scenario's own figures cover exactly the measured window; locust's CSV (written
    # every few seconds) is the fallback.
    stats: dict[str, dict[str, Any]] = measured.get("routes") or read_locust_stats(
        Path(f"{prefix}_stats.csv")
    )
    if not stats:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"locust wrote no statistics (exit {locust.returncode}):\n{tail}")
    aggregated = stats.pop("Aggregated", {})
    routes = []
    for name, row in sorted(stats.items(), key=lambda item: item[0].split(" ", 1)[::-1]):
        if not row["requests"]:
            continue
        target = route_target_ms(name)
        routes.append(
            {
                "route": name,
                **row,
                "p95_target_ms": target,
                "meets_target": row["failures"] == 0 and row["p95_ms"] < target,
            }
        )
    window = measured.get("window", {})
    ramp_up_failures = [
        {"route": route, "error": error, "occurrences": count}
        for route, errors in measured.get("ramp_up_failures", {}).items()
        for error, count in errors.items()
    ]
    return {
        "users": users,
        "spawn_rate": args.spawn_rate,
        "spawn_s": ramp_seconds,
        "all_signed_in_after_s": window.get("sign_in_s"),
        "measured_s": window.get("measured_s"),
        "complete": bool(window.get("measured_s")),
        "wall_clock_s": round(elapsed, 1),
        "routes": routes,
        "aggregated": aggregated,
        "failures": measured.get("failures")
        or read_locust_failures(Path(f"{prefix}_failures.csv")),
        "scenario_errors": measured.get("scenario_errors")
        or read_locust_exceptions(Path(f"{prefix}_exceptions.csv")),
        "sign_in_during_ramp_up": measured.get("sign_in", {}),
        "ramp_up_failures": ramp_up_failures,
        "business_refusals": measured.get("refusals", {}),
        "memory": memory.report(),
        "server_alive": server.running(),
        "database": database,
        "cpu": cpu.report(),
        "garbage_collector": collector,
        "profile": profile,
    }


# --- report -----------------------------------------------------------------------------------


def _ms(value: Any) -> str:
    return (
        "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0f}"
    )


def print_ceiling(ceiling: dict[str, Any]) -> None:
    """The ceiling table."""
    print(
        f"\nCeiling check ({ceiling['tool']}, {ceiling['connections']} connections, "
        f"{ceiling['seconds']}s per route, closed loop)"
    )
    print(f"{'route':<28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'of /healthz':>13}")
    for row in ceiling["routes"]:
        print(
            f"{row['route']:<28}{row['requests_per_s']:>10.0f}{_ms(row['p50_ms']):>9}"
            f"{_ms(row['p99_ms']):>9}{row['errors']:>8}{row['fraction_of_healthz']:>12.0%}"
        )
    ratio = ceiling["users_me_vs_primary_key_read"]
    verdict = "ok" if ratio >= ME_VS_PRIMARY_KEY_TARGET else "MISSED"
    print(
        f"GET /users/me at {ratio:.0%} of GET /vocabulary/{{id}} (a primary-key read); "
        f"target >= {ME_VS_PRIMARY_KEY_TARGET:.0%}: {verdict}"
    )


def print_run(run: dict[str, Any]) -> None:
    """The per-route table of one load run."""
    print(
        f"\n{run['users']} learners (spawned in {run['spawn_s']}s, all signed in after "
        f"{run['all_signed_in_after_s']}s), then {run['measured_s']}s measured"
    )
    if not run["complete"]:
        print("INCOMPLETE: the learners never all signed in; figures cover the whole run")
    header = (
        f"{'route':<32}{'req/s':>8}{'p50':>7}{'p95':>7}{'p99':>7}{'reqs':>8}{'fails':>7}  target"
    )
    print(header)
    for row in run["routes"]:
        verdict = "ok" if row["meets_target"] else "MISSED"
        print(
            f"{row['route']:<32}{row['requests_per_s']:>8.1f}{_ms(row['p50_ms']):>7}"
            f"{_ms(row['p95_ms']):>7}{_ms(row['p99_ms']):>7}{row['requests']:>8}"
            f"{row['failures']:>7}  p95<{row['p95_target_ms']:.0f} {verdict}"
        )
    total = run["aggregated"]
    if total:
        print(
            f"{'all requests':<32}{total['requests_per_s']:>8.1f}{_ms(total['p50_ms']):>7}"
            f"{_ms(total['p95_ms']):>7}{_ms(total['p99_ms']):>7}{total['requests']:>8}"
            f"{total['failures']:>7}"
        )
    print("(times in ms; req/s over the measured part)")
    for route, figures in run["sign_in_during_ramp_up"].items():
        print(
            f"during ramp-up {route}: {figures['count']} requests, p50 {_ms(figures['p50_ms'])}"
            f" ms, p95 {_ms(figures['p95_ms'])} ms"
        )
    for refusal, count in sorted(run["business_refusals"].items()):
        print(f"expected refusal (counted as success) {refusal}: {count}")
    memory = run["memory"]
    print(
        f"API workers' peak RSS: largest worker {memory['largest_worker_peak_mib']:.0f} MiB, "
        f"all {len(memory['workers_peak_mib'])} workers {memory['workers_total_peak_mib']:.0f}"
        f" MiB (serve process {memory['serve_process_peak_mib']:.0f} MiB)"
    )
    for failure in run["failures"]:
        print(f"FAILURE {failure['route']}: {failure['error']} x{failure['occurrences']}")
    for failure in run["ramp_up_failures"]:
        print(
            f"FAILURE during ramp-up {failure['route']}: {failure['error']} "
            f"x{failure['occurrences']}"
        )
    for error in run["scenario_errors"]:
        print(f"SCENARIO ERROR x{error['count']}: {error['message']}")
    if not run["server_alive"]:
        print("THE SERVER EXITED DURING THE RUN (see its log)")
    print_cpu(run["cpu"])
    print_gc_pauses(run["garbage_collector"])
    print_statements(run["database"])
    if run["profile"]:
        print_profile(run["profile"])


def step_passes(run: dict[str, Any], p95_ms: float) -> bool:
    """All requests together under the p95 threshold, and no failure at all (ramp-up too)."""
    total = run["aggregated"]
    return (
        run["complete"]
        and bool(total)
        and total["failures"] == 0
        and not run["ramp_up_failures"]
        and not run["scenario_errors"]
        and total["p95_ms"] < p95_ms
    )


# --- main -------------------------------------------------------------------------------------


def _raise_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        description="Load-test Linguo: ceiling check plus a day of learners (locust)."
    )
    parser.add_argument("--users", type=int, default=300, help="simulated learners (300)")
    parser.add_argument(
        "--duration", type=int, default=60, help="seconds measured after ramp-up (60)"
    )
    parser.add_argument(
        "--spawn-rate", type=float, default=10, help="learners started per second (10)"
    )
    parser.add_argument(
        "--step",
        type=int,
        default=0,
        help="run STEP, 2*STEP... learners until p95 >= --step-p95 or a failure",
    )
    parser.add_argument("--step-p95", type=float, default=200, help="step threshold, ms (200)")
    parser.add_argument("--step-max", type=int, default=3000, help="most learners to step to")
    parser.add_argument("--workers", type=int, default=cores, help=f"API workers ({cores})")
    parser.add_argument(
        "--ceiling-seconds", type=int, default=10, help="per route; 0 skips the check (10)"
    )
    parser.add_argument("--ceiling-connections", type=int, default=32)
    parser.add_argument("--ceiling-threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--ceiling-tool", choices=("auto", "wrk", "locust"), default="auto")
    parser.add_argument(
        "--no-celery-worker", action="store_true", help="do not start `linguo worker`"
    )
    parser.add_argument(
        "--fast-db",
        action="store_true",
        help="PostgreSQL without fsync/synchronous commit (as the tests run it)",
    )
    parser.add_argument(
        "--tcp-database",
        action="store_true",
        help="connect the API to PostgreSQL over TCP loopback, not its Unix socket",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the API workers with py-spy (slows them: not for the figures)",
    )
    parser.add_argument("--profile-rate", type=int, default=100, help="samples per second (100)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting to try under load, e.g. db_pool_size=30 (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        args.settings = server_settings(args.setting)
    except ValueError as exc:
        parser.error(str(exc))
    if args.profile and py_spy_path() is None:
        parser.error("--profile needs py-spy: pip install -e '.[bench]'")
    if args.users < 1 or args.duration < 1 or args.spawn_rate <= 0:
        parser.error("--users, --duration and --spawn-rate must be positive")
    return args


def server_settings(assignments: list[str]) -> dict[str, str]:
    """`--setting NAME=VALUE` options as LINGUO_ environment variables, checked by Settings."""
    from pydantic import ValidationError

    from linguo.config import Settings

    environment: dict[str, str] = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        name = name.strip().lower()
        if not equals or name not in Settings.model_fields:
            raise ValueError(f"--setting {assignment!r}: expected NAME=VALUE with a setting's name")
        try:
            Settings.model_validate({name: value})
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise ValueError(f"--setting {assignment!r}: {problem}") from None
        environment[f"LINGUO_{name.upper()}"] = value
    return environment


def server_environment(
    args: argparse.Namespace, database_url: str, redis_url: str, data: Path, port: int
) -> dict[str, str]:
    """The production settings the API runs with (see the module docstring)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINGUO_")}
    env.update(
        {
            "LINGUO_ENV": "production",
            "LINGUO_SECRET_KEY": secrets.token_urlsafe(48),
            "LINGUO_DATABASE_URL": database_url,
            "LINGUO_REDIS_URL": redis_url,
            "LINGUO_DATA_DIR": str(data),
            "LINGUO_HOST": "127.0.0.1",
            "LINGUO_PORT": str(port),
            "LINGUO_WORKERS": str(args.workers),
            "LINGUO_LOG_LEVEL": "WARNING",
            "LINGUO_RATE_LIMIT_IP": UNLIMITED,
            "LINGUO_RATE_LIMIT_USER": UNLIMITED,
            "LINGUO_RATE_LIMIT_AUTH": UNLIMITED,
            **args.settings,
        }
    )
    return env


@dataclass
class Stack:
    """What running_stack started."""

    base_url: str
    server: Service
    statements: StatementStats
    # Process trees whose CPU time is reported: name -> root pid.
    processes: dict[str, int]


def _postmaster_pid(postgres: BenchPostgres) -> int:
    return int((postgres.root / "data" / "postmaster.pid").read_text().split()[0])


@contextlib.contextmanager
def running_stack(args: argparse.Namespace, work_dir: Path) -> Iterator[Stack]:
    """PostgreSQL, Redis, demo data, `linguo serve` and `linguo worker`; stopped on exit."""
    with contextlib.ExitStack() as stack:
        data = Path(tempfile.mkdtemp(prefix="linguo-bench-"))
        stack.callback(shutil.rmtree, data, ignore_errors=True)
        postgres = BenchPostgres(
            durable=not args.fast_db, max_connections=max(200, args.workers * 40 + 50)
        )
        _log(f"starting PostgreSQL on port {postgres.port}")
        stack.callback(postgres.stop)
        stack.callback(_keep_log, postgres.root / "log", work_dir / "postgres.log")
        postgres.start()
        redis = RedisServer()
        _log(f"starting Redis on port {redis.port}")
        stack.callback(redis.stop)
        redis.start()
        port = free_port()
        database_url = postgres.url if args.tcp_database else postgres.socket_url
        env = server_environment(args, database_url, redis.url, data, port)
        _log("migrating and loading the demo data (linguo seed)")
        _run_checked([str(BIN_DIR / "linguo"), "seed"], env, work_dir / "seed.log", data)
        statements = StatementStats(postgres.url)
        statements.enable()
        _log(f"starting linguo serve with {args.workers} workers on port {port}")
        server = Service(
            "linguo serve",
            [str(BIN_DIR / "linguo"), "serve"],
            env,
            work_dir / "server.log",
            data,
        )
        stack.callback(server.stop)
        if not args.no_celery_worker:
            worker = Service(
                "linguo worker",
                [str(BIN_DIR / "linguo"), "worker", "--concurrency", "1"],
                env,
                work_dir / "celery-worker.log",
                data,
            )
            stack.callback(worker.stop)
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url, server)
        _log(f"API ready on {base_url}")
        processes = {"API (linguo serve)": server.pid, "PostgreSQL": _postmaster_pid(postgres)}
        if redis.process is not None:
            processes["Redis"] = redis.process.pid
        if not args.no_celery_worker:
            processes["Celery worker"] = worker.pid
        yield Stack(base_url, server, statements, processes)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when it ran (figures may still miss targets)."""
    args = parse_args(argv)
    if not (BIN_DIR / "locust").exists():
        print("locust is not installed: make bench installs it (pip install -e '.[bench]')")
        return 2
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    # Also when started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results.mkdir(parents=True, exist_ok=True)
    work_dir = args.results / stamp
    work_dir.mkdir()
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        },
        "settings": {
            "workers": args.workers,
            "spawn_rate": args.spawn_rate,
            "duration_s": args.duration,
            "durable_database": not args.fast_db,
            "database_over": "tcp" if args.tcp_database else "unix socket",
            "celery_worker": not args.no_celery_worker,
            "rate_limits": UNLIMITED,
            "tried": args.settings,
        },
        "runs": [],
    }
    result_file = args.results / f"{stamp}.json"
    try:
        with running_stack(args, work_dir) as stack:
            base_url, server = stack.base_url, stack.server
            token, word_id = _prepare_ceiling_user(base_url)
            _log("warming the workers up (language analysers, caches)")
            warm_up(base_url, token, args.workers)
            if args.ceiling_seconds > 0:
                report["ceiling"] = ceiling_check(base_url, token, word_id, args, work_dir)
                print_ceiling(report["ceiling"])
            if args.step:
                largest = 0
                users = args.step
                while users <= args.step_max:
                    run = run_load(stack, users, args, work_dir)
                    report["runs"].append(run)
                    print_run(run)
                    if not step_passes(run, args.step_p95) or not server.running():
                        break
                    largest = users
                    users += args.step
                    time.sleep(5)
                report["step"] = {
                    "p95_threshold_ms": args.step_p95,
                    "largest_users_meeting_it": largest,
                    "stopped_at_step_max": largest + args.step > args.step_max,
                }
                if largest + args.step > args.step_max:
                    found = f"{largest} (the most tried: raise --step-max)"
                else:
                    found = str(largest or "none of the steps")
                print(
                    f"\nLargest number of learners with p95 < {args.step_p95:.0f} ms (all "
                    f"requests) and no failures: {found}"
                )
            else:
                run = run_load(stack, args.users, args, work_dir)
                report["runs"].append(run)
                print_run(run)
    except KeyboardInterrupt:
        _log("interrupted: everything started has been stopped")
        report["interrupted"] = True
        return 130
    finally:
        report["finished_at"] = datetime.now(UTC).isoformat()
        result_file.write_text(json.dumps(report, indent=2, default=str) + "\n")
        _log(f"results: {result_file} (logs and locust CSVs in {work_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
