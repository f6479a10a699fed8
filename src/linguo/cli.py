"""The `linguo` command line: serve, migrate, seed, imports, worker, beat, jobs, createadmin."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, get_args, get_type_hints

import typer
from pydantic import ValidationError

from linguo.config import Settings, describe_validation_error, get_settings

if TYPE_CHECKING:
    from linguo.core.jobs import JobSpec

app = typer.Typer(
    help="Linguo: the backend language-learning products run on.", no_args_is_help=True
)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        typer.echo(f"linguo: {describe_validation_error(exc)}", err=True)
        raise typer.Exit(2) from None


def _configure_logging(settings: Settings) -> None:
    from linguo.core.logging import configure_logging

    configure_logging(settings.log_level, json=settings.log_json)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    # uvicorn re-raises the signal it caught once it has shut down; exiting through
    # SystemExit (instead of dying) lets the embedded database be stopped cleanly.
    raise SystemExit(128 + signum)


def _use_multiprocess_metrics(settings: Settings) -> None:
    """Let every worker write its metrics where a scrape of any worker can sum them."""
    directory = (settings.data_dir / "prometheus").resolve()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [LINGUO_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [LINGUO_PORT]")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [LINGUO_WORKERS]")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving")] = True,
) -> None:
    """Serve the API (starting the embedded PostgreSQL when no database is configured)."""
    import uvicorn

    from linguo.core import migrations
    from linguo.core.embedded import resolved_database
    from linguo.seed import load_reference_data

    settings = _settings()
    _configure_logging(settings)
    settings.signing_key()  # create the development key once, before workers fork
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with resolved_database(settings) as database_url:
        # Worker processes read their settings from the environment.
        os.environ["LINGUO_DATABASE_URL"] = database_url
        get_settings.cache_clear()
        if migrate:
            migrations.upgrade(database_url)
            load_reference_data(database_url)
        worker_count = workers or settings.workers
        if worker_count > 1:
            _use_multiprocess_metrics(settings)
        bind_host = host or settings.host
        bind_port = port or settings.port
        typer.echo(f"Linguo API on http://{bind_host}:{bind_port} (docs at /docs)", err=True)
        uvicorn.run(
            "linguo.app:create_served_app",
            factory=True,
            host=bind_host,
            port=bind_port,
            workers=worker_count,
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            access_log=False,
            log_config=None,
            server_header=False,
            # The session WebSocket; uvicorn's legacy `websockets` protocol is deprecated.
            ws="websockets-sansio",
        )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    downgrade: Annotated[bool, typer.Option(help="Migrate down to the revision")] = False,
) -> None:
    """Apply (or with --downgrade, revert) database migrations; load the reference data."""
    from linguo.core import migrations
    from linguo.core.embedded import resolved_database
    from linguo.seed import load_reference_data

    settings = _settings()
    _configure_logging(settings)
    with resolved_database(settings) as database_url:
        if downgrade:
            migrations.downgrade(database_url, revision)
        else:
            migrations.upgrade(database_url, revision)
            if revision == "head":
                load_reference_data(database_url)
    typer.echo(f"database at {'downgraded to' if downgrade else 'upgraded to'} {revision}")


@app.command()
def seed() -> None:
    """Load demo content (idempotent): demo accounts and each domain's demo data."""
    from linguo.core import migrations
    from linguo.core.embedded import resolved_database
    from linguo.seed import SEEDERS, run_seeders

    settings = _settings()
    _configure_logging(settings)

    with resolved_database(settings) as database_url:
        migrations.upgrade(database_url)
        created = asyncio.run(run_seeders(database_url, SEEDERS))
    for line in created:
        typer.echo(f"seeded {line}")
    typer.echo("seed complete" + ("" if created else " (nothing new)"))


@app.command("import-vocabulary")
def import_vocabulary(
    csv_file: Annotated[Path, typer.Argument(metavar="CSV", help="Vocabulary CSV file")],
    generate_sample: Annotated[
        bool,
        typer.Option(
            "--generate-sample", help="Write a sample file with every column to CSV instead"
        ),
    ] = False,
) -> None:
    """Import vocabulary words from a CSV file, merging duplicates (see the README's format).

    Every problem is reported with its line, and a file with any problem imports nothing.
    """
    from linguo.vocabulary.csv_format import VocabularyFileError, read_vocabulary_csv, sample_csv

    if generate_sample:
        if csv_file.exists():
            typer.echo(f"linguo: {csv_file} already exists; not overwriting it", err=True)
            raise typer.Exit(1)
        csv_file.write_text(sample_csv(), encoding="utf-8")
        typer.echo(f"wrote a sample vocabulary file to {csv_file}")
        return

    from linguo.core import migrations
    from linguo.core.db import Database
    from linguo.core.embedded import resolved_database
    from linguo.vocabulary.service import ImportReport, import_words

    settings = _settings()
    _configure_logging(settings)
    try:
        entries = read_vocabulary_csv(csv_file)
    except VocabularyFileError as exc:
        for error in exc.errors:
            typer.echo(f"linguo: {error}", err=True)
        typer.echo("linguo: nothing was imported", err=True)
        raise typer.Exit(1) from exc

    async def run(url: str) -> ImportReport:
        database = Database(url)
        try:
            async with database.session() as session:
                return await import_words(session, entries)
        finally:
            await database.dispose()

    with resolved_database(settings) as database_url:
        migrations.upgrade(database_url)
        report = asyncio.run(run(database_url))
    typer.echo(
        f"imported {report.rows} rows as {report.words} words: "
        f"{report.created} new, {report.merged} merged into existing words"
    )


@app.command("import-course")
def import_course(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="Folder of a course in LibreLingo's format")
    ],
    draft: Annotated[
        bool,
        typer.Option("--draft", help="Do not publish (a new course stays hidden from learners)"),
    ] = False,
) -> None:
    """Import or update a course in LibreLingo's YAML format, with synthesised audio.

    Re-importing updates it in place; a course with any problem imports nothing.
    """
    from linguo.content.librelingo import CourseFormatError, load_course

    settings = _settings()
    _configure_logging(settings)
    try:
        spec = load_course(path)
    except CourseFormatError as exc:
        for error in exc.errors:
            typer.echo(f"linguo: {error}", err=True)
        typer.echo(f"linguo: {path}: nothing was imported", err=True)
        raise typer.Exit(1) from exc

    from linguo.content.importer import CourseImportError, CourseImportReport
    from linguo.content.importer import import_course as import_course_spec
    from linguo.content.media import default_tts, storage_from_settings
    from linguo.core import migrations
    from linguo.core.db import Database
    from linguo.core.embedded import resolved_database

    tts = default_tts()

    async def run(url: str) -> CourseImportReport:
        database = Database(url)
        try:
            async with database.session() as session:
                return await import_course_spec(
                    session,
                    spec,
                    storage=storage_from_settings(settings),
                    tts=tts,
                    publish=not draft,
                )
        finally:
            await database.dispose()

    with resolved_database(settings) as database_url:
        migrations.upgrade(database_url)
        try:
            report = asyncio.run(run(database_url))
        except CourseImportError as exc:
            for problem in exc.problems:
                typer.echo(f"linguo: {problem}", err=True)
            typer.echo(f"linguo: {path}: nothing was imported", err=True)
            raise typer.Exit(1) from exc
    for warning in report.warnings:
        typer.echo(f"linguo: warning: {warning}", err=True)
    if report.created:
        outcome = "created"
    elif report.changed:
        outcome = "updated"
    else:
        outcome = "unchanged"
    typer.echo(
        f"course {spec.title!r} ({report.course_id}) {outcome}, content version "
        f"{report.content_version}: {report.units} units, {report.lessons} lessons, "
        f"{report.exercises} exercises, {report.words} words, "
        f"{report.media_created} new audio files"
    )


@app.command()
def createadmin(
    email: Annotated[str, typer.Option(prompt=True, help="Admin email")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="LINGUO_ADMIN_PASSWORD",
            help="Admin password (8..128 characters) [LINGUO_ADMIN_PASSWORD]",
        ),
    ],
) -> None:
    """Create an admin account (or promote an existing account and reset its password)."""
    from linguo.core import migrations
    from linguo.core.db import Database
    from linguo.core.embedded import resolved_database
    from linguo.identity.service import create_admin

    settings = _settings()
    if not 8 <= len(password) <= 128:
        typer.echo("linguo: the password must have 8 to 128 characters", err=True)
        raise typer.Exit(2)

    async def run(url: str) -> str:
        database = Database(url)
        try:
            async with database.session() as session:
                user = await create_admin(session, email, password)
                return str(user.id)
        finally:
            await database.dispose()

    with resolved_database(settings) as database_url:
        migrations.upgrade(database_url)
        try:
            user_id = asyncio.run(run(database_url))
        except ValidationError as exc:
            typer.echo(f"linguo: invalid email: {exc.errors()[0]['msg']}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"admin {email} ready (id {user_id})")


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Worker processes (default: cores)")
    ] = None,
) -> None:
    """Run a Celery worker for background jobs (requires LINGUO_REDIS_URL)."""
    settings = _settings()
    if not settings.redis_url:
        typer.echo("linguo: LINGUO_REDIS_URL is required for `linguo worker`", err=True)
        raise typer.Exit(2)
    if not settings.database_url:
        typer.echo("linguo: LINGUO_DATABASE_URL is required for `linguo worker`", err=True)
        raise typer.Exit(2)
    _configure_logging(settings)
    from linguo.worker import create_celery

    argv = ["worker", "--loglevel", settings.log_level]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    create_celery(settings).worker_main(argv)


@app.command()
def beat() -> None:
    """Run the Celery beat scheduler for periodic jobs (requires LINGUO_REDIS_URL)."""
    settings = _settings()
    if not settings.redis_url:
        typer.echo("linguo: LINGUO_REDIS_URL is required for `linguo beat`", err=True)
        raise typer.Exit(2)
    _configure_logging(settings)
    from linguo.worker import create_celery

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    schedule_file = settings.data_dir / "celerybeat-schedule"
    create_celery(settings).start(
        ["beat", "--loglevel", settings.log_level, "--schedule", str(schedule_file)]
    )


jobs_app = typer.Typer(
    help="Background jobs: list them with their schedules, or run one now.",
    no_args_is_help=True,
)
app.add_typer(jobs_app, name="jobs")


def _fail(message: str) -> NoReturn:
    typer.echo(f"linguo: {message}", err=True)
    raise typer.Exit(2)


def _describe_schedule(spec: JobSpec) -> str:
    from celery.schedules import crontab
    from celery.schedules import schedule as interval

    if spec.schedule is None:
        return "on demand"
    if isinstance(spec.schedule, crontab):
        fields = (
            spec.schedule._orig_minute,
            spec.schedule._orig_hour,
            spec.schedule._orig_day_of_month,
            spec.schedule._orig_month_of_year,
            spec.schedule._orig_day_of_week,
        )
        return "cron " + " ".join(str(field) for field in fields)
    if isinstance(spec.schedule, interval):
        return f"every {spec.schedule.human_seconds}"
    return str(spec.schedule)


def _find_job(name: str) -> JobSpec:
    """The job called `name`, or whose name after the domain is `name` (`-` may stand for `_`)."""
    from linguo.core.jobs import load_task_modules

    specs = load_task_modules()
    if name in specs:
        return specs[name]
    wanted = name.strip().replace("-", "_")
    matches = sorted(key for key in specs if wanted in (key, key.partition(".")[2]))
    if len(matches) == 1:
        return specs[matches[0]]
    if matches:
        _fail(f"job {name!r} is ambiguous: {', '.join(matches)}")
    _fail(f"no job named {name!r} (`linguo jobs list` shows them)")


def _argument_value(job_name: str, key: str, value: str, hint: Any) -> Any:
    """`value` converted to the parameter's type when that is int, float or bool."""
    types = [kind for kind in (get_args(hint) or (hint,)) if kind is not type(None)]
    if len(types) != 1 or types[0] not in (int, float, bool):
        return value
    if types[0] is bool:
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        _fail(f"--arg {key}: {job_name} expects true or false, not {value!r}")
    try:
        return types[0](value)
    except ValueError:
        expected = "an integer" if types[0] is int else "a number"
        _fail(f"--arg {key}: {job_name} expects {expected}, not {value!r}")


def _job_arguments(spec: JobSpec, pairs: list[str]) -> dict[str, Any]:
    """Keyword arguments for the job from KEY=VALUE pairs, checked against its signature."""
    raw: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        key = key.strip()
        if not equals or not key.isidentifier():
            _fail(f"--arg {pair!r}: expected KEY=VALUE")
        if key in raw:
            _fail(f"--arg {key} is given twice")
        raw[key] = value
    parameters = list(inspect.signature(spec.func).parameters.values())[1:]  # after ctx
    named = {
        parameter.name: parameter
        for parameter in parameters
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    }
    if not any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        for key in raw:
            if key not in named:
                takes = ", ".join(named) or "none"
                _fail(f"job {spec.name} has no argument {key!r} (its arguments: {takes})")
    for key, parameter in named.items():
        if parameter.default is parameter.empty and key not in raw:
            _fail(f"job {spec.name} needs --arg {key}=VALUE")
    try:
        hints = get_type_hints(spec.func)
    except Exception:  # annotations that cannot be resolved: pass the values as text
        hints = {}
    return {
        key: _argument_value(spec.name, key, value, hints.get(key)) for key, value in raw.items()
    }


async def _run_job_once(settings: Settings, name: str, kwargs: dict[str, Any]) -> Any:
    """Run one job in this process; jobs it enqueues go to Celery, or run here before returning."""
    from linguo.core import jobs
    from linguo.core.cache import create_cache
    from linguo.core.db import Database

    database = Database.from_settings(settings)
    cache = create_cache(settings)
    ctx = jobs.JobContext(settings=settings, db=database, cache=cache)
    try:
        async with jobs.job_backend(ctx, scheduler=False, concurrency=1) as runner:
            result = await jobs.run_job(ctx, name, kwargs)
            if runner is not None:
                await runner.drain()
            return result
    finally:
        await cache.close()
        await database.dispose()


@jobs_app.command("list")
def list_jobs() -> None:
    """List the registered jobs and their schedules (cron times are UTC)."""
    from linguo.core.jobs import load_task_modules

    specs = load_task_modules()
    rows = [
        (name, _describe_schedule(spec), (inspect.getdoc(spec.func) or "").partition("\n")[0])
        for name, spec in sorted(specs.items())
    ]
    name_width = max(len("JOB"), *(len(row[0]) for row in rows))
    schedule_width = max(len("SCHEDULE"), *(len(row[1]) for row in rows))
    typer.echo(f"{'JOB':<{name_width}}  {'SCHEDULE':<{schedule_width}}  DESCRIPTION")
    for name, schedule, summary in rows:
        typer.echo(f"{name:<{name_width}}  {schedule:<{schedule_width}}  {summary}".rstrip())


@jobs_app.command("run")
def run_job_now(
    name: Annotated[
        str, typer.Argument(help="Job name, or its part after the dot (send-streak-reminders)")
    ],
    arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            metavar="KEY=VALUE",
            help="A job argument (repeatable), e.g. now=2026-01-15T18:00Z",
        ),
    ] = None,
) -> None:
    """Run one job now in this process against the configured database, and print its result."""
    import json

    from linguo.core import migrations
    from linguo.core.embedded import resolved_database

    spec = _find_job(name)
    kwargs = _job_arguments(spec, arg or [])
    settings = _settings()
    _configure_logging(settings)
    # The result goes to stdout alone; the job's log lines go to stderr.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    with resolved_database(settings) as database_url:
        migrations.upgrade(database_url)
        resolved = settings.model_copy(update={"database_url": database_url})
        try:
            result = asyncio.run(_run_job_once(resolved, spec.name, kwargs))
        except Exception as exc:
            typer.echo(f"linguo: job {spec.name} failed: {exc}", err=True)
            raise typer.Exit(1) from None
    outcome = "done" if result is None else json.dumps(result, default=str)
    typer.echo(f"{spec.name}: {outcome}")


def main() -> None:
    """Entry point of the `linguo` script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
