"""HTTP routes of identity: /auth/*, /users/me, /users (admin) and devices."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import Settings
from linguo.core.deps import AdminUser, AppSettings, CurrentUser, DbSession
from linguo.core.errors import NotFound, error_responses
from linguo.core.pagination import Page, Pagination, paginate
from linguo.core.ratelimit import AuthRateLimit, RateLimiter, client_ip
from linguo.identity import repository, service
from linguo.identity.schemas import (
    AccountDeletion,
    DeviceRead,
    DeviceRegister,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserRead,
    UserUpdate,
)
from linguo.models.identity import Role, User

auth_router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(401))


def _client(request: Request) -> service.ClientInfo:
    return service.ClientInfo(ip=client_ip(request), user_agent=request.headers.get("user-agent"))


def _no_store(response: Response) -> None:
    # Token responses must never be cached (RFC 6749, section 5.1).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


def _signing_key(request: Request) -> str:
    key: str = request.app.state.signing_key
    return key


async def _password_login(
    request: Request,
    response: Response,
    session: AsyncSession,
    settings: Settings,
    email: str,
    password: str,
) -> TokenPair:
    # Besides the per-IP budget, each account has its own: a password spray from many
    # addresses still meets a limit.
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.hit("login-account", email.lower(), limiter.auth_limits)
    _no_store(response)
    return await service.login(
        session, email, password, settings, _signing_key(request), _client(request)
    )


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=error_responses(409),
)
async def register(data: RegisterRequest, session: DbSession, _: AuthRateLimit) -> User:
    """Create a learner account."""
    return await service.register(session, data)


@auth_router.post("/login", response_model=TokenPair, responses=error_responses(401, 403))
async def login(
    data: LoginRequest,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    _: AuthRateLimit,
) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    return await _password_login(request, response, session, settings, data.email, data.password)


@auth_router.post("/token", response_model=TokenPair, responses=error_responses(401, 403))
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    _: AuthRateLimit,
) -> TokenPair:
    """OAuth2 password flow (username = email), used by the docs page's Authorize button."""
    return await _password_login(request, response, session, settings, form.username, form.password)


@auth_router.post("/refresh", response_model=TokenPair, responses=error_responses(401, 403))
async def refresh(
    data: RefreshRequest,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    _: AuthRateLimit,
) -> TokenPair:
    """Spend a refresh token for a new pair. Reusing a spent token revokes its whole family."""
    _no_store(response)
    return await service.refresh(
        session, data.refresh_token, settings, _signing_key(request), _client(request)
    )


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(data: RefreshRequest, session: DbSession) -> Response:
    """Sign out the session this refresh token belongs to."""
    await service.logout(session, data.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.get("/me", response_model=UserRead)
async def read_me(user: CurrentUser) -> User:
    """The caller's account."""
    return user


@users_router.patch("/me", response_model=UserRead)
async def update_me(changes: UserUpdate, user: CurrentUser, session: DbSession) -> User:
    """Change the caller's profile; unknown fields are refused with 422."""
    return await service.update_profile(session, user, changes)


@users_router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(400))
async def delete_me(
    data: AccountDeletion, user: CurrentUser, session: DbSession, _: AuthRateLimit
) -> Response:
    """Delete the caller's account and all its data, confirmed with the password."""
    await service.delete_account(session, user, data.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.post(
    "/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(400)
)
async def change_password(
    data: PasswordChange, user: CurrentUser, session: DbSession, _: AuthRateLimit
) -> Response:
    """Change the caller's password; every refresh token is revoked (log in again)."""
    await service.change_password(session, user, data.current_password, data.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.post("/me/devices", status_code=status.HTTP_201_CREATED, response_model=DeviceRead)
async def register_device(data: DeviceRegister, user: CurrentUser, session: DbSession) -> object:
    """Register (or update) a device for push notifications; idempotent per device_id."""
    return await service.register_device(
        session, user, device_id=data.device_id, push_token=data.push_token, platform=data.platform
    )


@users_router.get("/me/devices", response_model=list[DeviceRead])
async def list_devices(user: CurrentUser, session: DbSession) -> object:
    """The caller's registered devices."""
    return await repository.list_devices(session, user.id)


@users_router.delete(
    "/me/devices/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def delete_device(device_id: str, user: CurrentUser, session: DbSession) -> Response:
    """Stop sending push notifications to a device."""
    if not await repository.delete_device(session, user.id, device_id):
        raise NotFound("No such device.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.get("", response_model=Page[UserRead], responses=error_responses(403))
async def list_users(
    _admin: AdminUser,
    session: DbSession,
    page: Pagination,
    role: Role | None = None,
    search: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[UserRead]:
    """All accounts, newest first (admin only)."""
    rows, total = await paginate(
        session, repository.list_users_query(role=role, search=search), page
    )
    return Page[UserRead](
        items=[UserRead.model_validate(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@users_router.post(
    "/{user_id}/disable", response_model=UserRead, responses=error_responses(403, 404)
)
async def disable_user(user_id: uuid.UUID, _admin: AdminUser, session: DbSession) -> User:
    """Disable an account and sign it out everywhere (admin only)."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return await service.set_active(session, user, active=False)


@users_router.post(
    "/{user_id}/enable", response_model=UserRead, responses=error_responses(403, 404)
)
async def enable_user(user_id: uuid.UUID, _admin: AdminUser, session: DbSession) -> User:
    """Re-enable a disabled account (admin only)."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return await service.set_active(session, user, active=True)
