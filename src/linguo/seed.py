"""Seed data; every seeder is idempotent.

Reference data (shop items, achievement definitions) is part of the product: `linguo migrate`
and `linguo serve` load it after migrating. Demo data (accounts, vocabulary, the French
course) is loaded by `linguo seed` (and `make run`) only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import get_settings
from linguo.content.importer import import_course
from linguo.content.librelingo import DEMO_COURSE_PATH, load_course
from linguo.content.media import default_tts, storage_from_settings
from linguo.gamification.achievements import seed_achievements
from linguo.gamification.shop import seed_shop_items
from linguo.identity import repository as identity_repository
from linguo.identity import service as identity_service
from linguo.identity.schemas import RegisterRequest
from linguo.models.identity import Role
from linguo.vocabulary.demo import seed_demo_vocabulary

DEMO_PASSWORD = "linguo-demo-password"  # noqa: S105 - documented demo credentials
DEMO_ACCOUNTS = (
    ("learner@demo.linguo.dev", "Demo Learner", Role.STUDENT),
    ("tutor@demo.linguo.dev", "Demo Tutor", Role.TUTOR),
)

Seeder = Callable[[AsyncSession], Awaitable[list[str]]]


async def seed_demo_accounts(session: AsyncSession) -> list[str]:
    """A demo learner and a demo tutor sharing DEMO_PASSWORD."""
    created = []
    for email, name, role in DEMO_ACCOUNTS:
        if await identity_repository.get_user_by_email(session, email) is None:
            data = RegisterRequest(email=email, password=DEMO_PASSWORD, full_name=name)
            await identity_service.register(session, data, role=role)
            created.append(f"{role.value} {email} / {DEMO_PASSWORD}")
    return created


async def seed_demo_course(session: AsyncSession) -> list[str]:
    """The bundled French course, published, with espeak-ng audio when it is installed.

    Importing unchanged files again changes nothing.
    """
    spec = load_course(DEMO_COURSE_PATH)
    storage = storage_from_settings(get_settings())
    report = await import_course(session, spec, storage=storage, tts=default_tts(), publish=True)
    if not report.changed:
        return []
    done = (
        "course" if report.created else f"course update (content version {report.content_version})"
    )
    lines = [
        f"{done} {spec.title!r}: {report.lessons} lessons, {report.exercises} exercises, "
        f"{report.media_created} new audio files"
    ]
    return lines + [f"course warning: {warning}" for warning in report.warnings]


REFERENCE_SEEDERS: tuple[Seeder, ...] = (seed_shop_items, seed_achievements)
SEEDERS: tuple[Seeder, ...] = (
    seed_demo_accounts,
    seed_demo_vocabulary,
    seed_demo_course,
    *REFERENCE_SEEDERS,
)


async def run_seeders(database_url: str, seeders: tuple[Seeder, ...]) -> list[str]:
    """Run `seeders` in one transaction; returns what each one created."""
    from linguo.core.db import Database

    database = Database(database_url)
    done: list[str] = []
    try:
        async with database.session() as session:
            for seeder in seeders:
                done.extend(await seeder(session))
    finally:
        await database.dispose()
    return done


def load_reference_data(database_url: str) -> list[str]:
    """Create or update the shop items and achievement definitions (after migrating)."""
    return asyncio.run(run_seeders(database_url, REFERENCE_SEEDERS))
