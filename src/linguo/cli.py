"""The `linguo` command line: serve, migrate, seed, imports, worker, beat, createadmin."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from pydantic import ValidationError

from linguo.config import Settings, describe_validation_error, get_settings

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
        worker_count = workers or settings.workers
        if worker_count > 1:
            _use_multiprocess_metrics(settings)
        bind_host = host or settings.host
        bind_port = port or settings.port
        typer.echo(f"Linguo API on http://{bind_host}:{bind_port} (docs at /docs)", err=True)
        uvicorn.run(
            "linguo.app:create_app",
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
    """Apply (or with --downgrade, revert) database migrations."""
    from linguo.core import migrations
    from linguo.core.embedded import resolved_database

    settings = _settings()
    _configure_logging(settings)
    with resolved_database(settings) as database_url:
        if downgrade:
            migrations.downgrade(database_url, revision)
        else:
            migrations.upgrade(database_url, revision)
    typer.echo(f"database at {'downgraded to' if downgrade else 'upgraded to'} {revision}")


@app.command()
def seed() -> None:
    """Load demo content (idempotent): demo accounts and each domain's demo data."""
    from linguo.core import migrations
    from linguo.core.db import Database
    from linguo.core.embedded import resolved_database
    from linguo.seed import SEEDERS

    settings = _settings()
    _configure_logging(settings)

    async def run(url: str) -> list[str]:
        database = Database(url)
        done: list[str] = []
        try:
            async with database.session() as session:
                for seeder in SEEDERS:
                    done.extend(await seeder(session))
        finally:
            await database.dispose()
        return done

    with resolved_database(settings) as database_url:
        migrations.upgrade(database_url)
        created = asyncio.run(run(database_url))
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


def main() -> None:
    """Entry point of the `linguo` script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
