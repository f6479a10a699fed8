"""FastAPI dependencies shared by every router: the session, the current user, roles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import Settings
from linguo.core.cache import Cache
from linguo.core.context import set_user_id
from linguo.core.db import Database
from linguo.core.errors import AppError, Forbidden, InvalidToken, NotAuthenticated
from linguo.core.jobs import deferred_jobs
from linguo.core.security import AccessClaims, decode_access_token
from linguo.models.identity import Role, User

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_now(request: Request) -> datetime:
    """The current time (UTC) from the app's clock, read once per request."""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


async def get_cache(request: Request) -> Cache:
    """The app's cache."""
    cache: Cache = request.app.state.cache
    return cache


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit once at the end, or roll back on error.

    Jobs enqueued during the request are sent only after the commit.
    """
    database: Database = request.app.state.db
    async with database.sessionmaker() as session, deferred_jobs() as jobs:
        try:
            yield session
        except AppError as exc:
            if exc.commit_transaction:
                await session.commit()
                await jobs.send()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        await jobs.send()


# scope="function": the commit happens before the response is sent, so a failed commit
# is answered as an error instead of a success that was never stored.
DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
AppCache = Annotated[Cache, Depends(get_cache)]
Now = Annotated[datetime, Depends(get_now)]


def _claims(request: Request, token: str | None) -> AccessClaims:
    if not token:
        raise NotAuthenticated()
    cached: AccessClaims | None = getattr(request.state, "access_claims", None)
    if cached is not None:
        return cached
    settings: Settings = request.app.state.settings
    return decode_access_token(token, key=request.app.state.signing_key, issuer=settings.jwt_issuer)


async def get_current_user(
    request: Request,
    session: DbSession,
    token: Annotated[str | None, Depends(_bearer)],
) -> User:
    """The active user the bearer token names; 401 when missing, invalid or disabled."""
    claims = _claims(request, token)
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("The account of this token no longer exists or is disabled.")
    set_user_id(str(user.id))
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[..., Coroutine[Any, Any, User]]:
    """Dependency factory: the current user, or 403 unless they have one of `roles`."""

    async def dependency(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(f"This requires the role {' or '.join(role.value for role in roles)}.")
        return user

    return dependency


AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
