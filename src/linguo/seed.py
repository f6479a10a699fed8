"""Demo data loaded by `linguo seed` (and `make run`); every seeder is idempotent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

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


SEEDERS: tuple[Seeder, ...] = (seed_demo_accounts, seed_demo_vocabulary)
