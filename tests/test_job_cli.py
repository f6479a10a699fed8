"""`linguo jobs list` and `linguo jobs run NAME --arg KEY=VALUE` against the test database."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from linguo import cli
from linguo.core import jobs
from linguo.core.db import Database
from linguo.core.jobs import JobContext
from linguo.gamification.service import record_activity
from linguo.models.identity import User
from tests.conftest import TEST_SECRET, TestServers, scalar
from tests.test_cli import LINGUO, _env


@pytest.fixture
def job_env(servers: TestServers, tmp_path: Path) -> dict[str, str]:
    return _env(
        LINGUO_DATABASE_URL=servers.database_url,
        LINGUO_SECRET_KEY=TEST_SECRET,
        LINGUO_DATA_DIR=str(tmp_path / "data"),
        LINGUO_LOG_LEVEL="WARNING",
    )


def _jobs(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LINGUO, "jobs", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_jobs_list_shows_every_job_and_its_schedule(
    job_env: dict[str, str], tmp_path: Path
) -> None:
    result = _jobs(["list"], job_env, tmp_path)
    assert result.returncode == 0, result.stderr
    # Columns are separated by two spaces or more.
    header, *rows = [re.split(r"\s{2,}", line) for line in result.stdout.splitlines()]
    assert header == ["JOB", "SCHEDULE", "DESCRIPTION"]
    by_name = {row[0]: row[1:] for row in rows}
    assert set(by_name) == set(jobs.load_task_modules())
    assert by_name["notifications.send_streak_reminders"] == [
        "cron 0 * * * *",
        "Write today's streak reminder for learners at 18:00-21:59 local time; returns the count.",
    ]
    assert by_name["identity.purge_stale_refresh_tokens"][0] == "cron 17 3 * * *"
    assert by_name["srs.fit_learner_parameters"][0] == "on demand"


async def test_jobs_run_runs_the_job_once_and_prints_its_result(
    job_env: dict[str, str], tmp_path: Path, database: Database
) -> None:
    async with database.session() as session:
        user = User(email="cli@example.com", password_hash="x", timezone="Europe/Paris")
        session.add(user)
        await session.flush()
        user_id = user.id
    async with database.session() as session:
        await record_activity(session, user_id, datetime(2026, 1, 14, 11, tzinfo=UTC))

    now = "now=2026-01-15T17:00:00+00:00"  # 18:00 in Paris
    result = _jobs(["run", "notifications.send_streak_reminders", "--arg", now], job_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "notifications.send_streak_reminders: 1\n"
    reference = await scalar(
        database,
        "SELECT reference FROM notifications WHERE user_id = :u AND delivered_at IS NULL",
        u=user_id,
    )
    assert reference == "2026-01-15"

    # Again, by its short name: nothing more to write.
    again = _jobs(["run", "send-streak-reminders", "--arg", now], job_env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "notifications.send_streak_reminders: 0\n"
    assert await scalar(database, "SELECT count(*) FROM notifications") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope"], "linguo: no job named 'nope' (`linguo jobs list` shows them)"),
        (
            ["run", "send_streak_reminders", "--arg", "now"],
            "linguo: --arg 'now': expected KEY=VALUE",
        ),
        (
            ["run", "send_streak_reminders", "--arg", "when=2026-01-15T17:00:00Z"],
            "linguo: job notifications.send_streak_reminders has no argument 'when'"
            " (its arguments: now)",
        ),
        (
            ["run", "send_streak_reminders", "--arg", "now=1", "--arg", "now=2"],
            "linguo: --arg now is given twice",
        ),
        (
            ["run", "srs.fit_learner_parameters"],
            "linguo: job srs.fit_learner_parameters needs --arg user_id=VALUE",
        ),
    ],
    ids=["unknown-job", "no-equals", "unknown-argument", "twice", "missing-argument"],
)
def test_jobs_run_refuses_bad_input_with_one_clear_line(args: list[str], message: str) -> None:
    # In-process: the input is refused before any setting or database is read.
    result = CliRunner().invoke(cli.app, ["jobs", *args])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [message]
    assert result.stdout == ""


def test_an_unknown_job_exits_with_two_from_the_shell(
    job_env: dict[str, str], tmp_path: Path
) -> None:
    result = _jobs(["run", "nope"], job_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "linguo: no job named 'nope' (`linguo jobs list` shows them)"
    ]
    assert result.stdout == ""


async def test_a_failing_job_exits_with_one_and_says_why(
    job_env: dict[str, str], tmp_path: Path, database: Database
) -> None:
    result = _jobs(["run", "send-streak-reminders", "--arg", "now=yesterday"], job_env, tmp_path)
    assert result.returncode == 1
    assert (
        "linguo: job notifications.send_streak_reminders failed: "
        "now: not an ISO 8601 date and time: 'yesterday'"
    ) in result.stderr.splitlines()
    assert result.stdout == ""
    assert await scalar(database, "SELECT count(*) FROM notifications") == 0


# --------------------------------------------------------------------------- arguments


@pytest.fixture
def typed_job() -> Iterator[jobs.JobSpec]:
    async def typed(
        ctx: JobContext, count: int, ratio: float = 1.0, dry_run: bool = False, label: str = ""
    ) -> None:
        return None

    jobs.job("tests.typed")(typed)
    yield jobs.registry["tests.typed"]
    jobs.registry.pop("tests.typed", None)


def test_arguments_are_converted_to_the_jobs_parameter_types(typed_job: jobs.JobSpec) -> None:
    assert cli._job_arguments(typed_job, ["count=3", "ratio=0.5", "dry_run=yes", "label=a=b"]) == {
        "count": 3,
        "ratio": 0.5,
        "dry_run": True,
        "label": "a=b",
    }
    assert cli._job_arguments(typed_job, ["count=-1", "dry_run=False"]) == {
        "count": -1,
        "dry_run": False,
    }
    assert cli._find_job("typed") is typed_job


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["count=three"], "--arg count: tests.typed expects an integer, not 'three'"),
        (["count=1", "ratio=half"], "--arg ratio: tests.typed expects a number, not 'half'"),
        (["count=1", "dry_run=maybe"], "--arg dry_run: tests.typed expects true or false"),
        (["=1"], "--arg '=1': expected KEY=VALUE"),
    ],
)
def test_arguments_of_the_wrong_type_are_refused(
    typed_job: jobs.JobSpec,
    capsys: pytest.CaptureFixture[str],
    pairs: list[str],
    message: str,
) -> None:
    with pytest.raises(typer.Exit) as exited:
        cli._job_arguments(typed_job, pairs)
    assert exited.value.exit_code == 2
    assert message in capsys.readouterr().err


def test_an_ambiguous_short_name_is_refused(
    typed_job: jobs.JobSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    async def other(ctx: JobContext) -> None:
        return None

    jobs.job("elsewhere.typed")(other)
    try:
        with pytest.raises(typer.Exit):
            cli._find_job("typed")
        assert "job 'typed' is ambiguous: elsewhere.typed, tests.typed" in capsys.readouterr().err
        assert cli._find_job("tests.typed") is typed_job
    finally:
        jobs.registry.pop("elsewhere.typed", None)
