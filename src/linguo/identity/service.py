"""Identity logic: registration, login, token rotation with reuse detection, profile, devices."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.config import Settings
from linguo.core.db import release_connection, utcnow
from linguo.core.errors import (
    AppError,
    BadRequest,
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidToken,
)
from linguo.core.security import (
    create_access_token,
    hash_password,
    hash_token,
    new_refresh_token,
    verify_and_upgrade_password,
    verify_password,
)
from linguo.identity import repository
from linguo.identity.schemas import RegisterRequest, TokenPair, UserUpdate
from linguo.models.identity import Device, RefreshToken, Role, User

logger = structlog.get_logger("linguo.identity")


class EmailTaken(Conflict):
    """Another account uses this email."""

    code = ErrorCode.EMAIL_TAKEN
    message = "An account with this email already exists."


class InvalidCredentials(AppError):
    """Wrong email or password."""

    status_code = 401
    code = ErrorCode.INVALID_CREDENTIALS
    message = "Incorrect email or password."


class AccountDisabled(Forbidden):
    """The account exists but has been disabled."""

    code = ErrorCode.ACCOUNT_DISABLED
    message = "This account has been disabled."


class WrongPassword(BadRequest):
    """The password given to confirm a sensitive change is wrong."""

    code = ErrorCode.WRONG_PASSWORD
    message = "The current password is not correct."


class RefreshTokenReused(InvalidToken):
    """A spent refresh token came back: its whole family is revoked, and that must commit."""

    message = "This refresh token was already used; every session it started has been signed out."
    commit_transaction = True


@dataclass(frozen=True)
class ClientInfo:
    """Where a credential request came from."""

    ip: str | None = None
    user_agent: str | None = None


async def register(
    session: AsyncSession, data: RegisterRequest, *, role: Role = Role.STUDENT
) -> User:
    """Create an account; 409 email_taken when the email exists in any letter case."""
    # Hashed before the first query, so that no pooled connection waits for the CPU.
    password_hash = await asyncio.to_thread(hash_password, data.password)
    if await repository.get_user_by_email(session, data.email) is not None:
        raise EmailTaken()
    user = User(
        email=data.email,
        password_hash=password_hash,
        full_name=data.full_name,
        role=role,
        native_language=data.native_language,
        target_language=data.target_language,
        proficiency_level=data.proficiency_level,
        timezone=data.timezone,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken() from exc
    logger.info("user_registered", user_id=str(user.id), role=role.value)
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    """The user with these credentials; 401 when wrong, 403 when the account is disabled."""
    user = await repository.get_user_by_email(session, email)
    await release_connection(session)  # not held while the hash is checked
    password_ok, upgraded_hash = await asyncio.to_thread(
        verify_and_upgrade_password, password, user.password_hash if user else None
    )
    if user is None or not password_ok:
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountDisabled()
    if upgraded_hash is not None:
        user.password_hash = upgraded_hash  # made with older parameters: redone with today's
    return user


async def issue_tokens(
    session: AsyncSession,
    user: User,
    settings: Settings,
    signing_key: str,
    client: ClientInfo,
    *,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    """A new access token and a new refresh token (in a new family unless one is given)."""
    now = utcnow()
    access_token, expires_in = create_access_token(
        user_id=user.id,
        role=user.role.value,
        key=signing_key,
        issuer=settings.jwt_issuer,
        minutes=settings.access_token_minutes,
        now=now,
    )
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_token(refresh_token),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
            user_agent=(client.user_agent or "")[:300] or None,
            ip=client.ip,
        )
    )
    await session.flush()
    return TokenPair(access_token=access_token, refresh_token=refresh_token, expires_in=expires_in)


async def login(
    session: AsyncSession,
    email: str,
    password: str,
    settings: Settings,
    signing_key: str,
    client: ClientInfo,
) -> TokenPair:
    """Check credentials, record the login and issue a token pair."""
    user = await authenticate(session, email, password)
    user.last_login_at = utcnow()
    user.last_login_ip = client.ip
    logger.info("user_logged_in", user_id=str(user.id))
    return await issue_tokens(session, user, settings, signing_key, client)


async def refresh(
    session: AsyncSession, presented: str, settings: Settings, signing_key: str, client: ClientInfo
) -> TokenPair:
    """Spend a refresh token for a new pair in the same family.

    A token that was already spent (or revoked) revokes its whole family: whoever holds
    a copy of a stolen token, the thief or the owner, is signed out everywhere it reached.
    """
    now = utcnow()
    token = await repository.get_refresh_token_for_update(session, hash_token(presented))
    if token is None:
        raise InvalidToken("Unknown refresh token.")
    if token.used_at is not None or token.revoked_at is not None:
        revoked = await repository.revoke_family(session, token.family_id, now)
        logger.warning(
            "refresh_token_reuse_detected",
            user_id=str(token.user_id),
            family_id=str(token.family_id),
            revoked=revoked,
        )
        raise RefreshTokenReused()
    if token.expires_at <= now:
        raise InvalidToken("The refresh token has expired.", details={"reason": "expired"})
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        await repository.revoke_family(session, token.family_id, now)
        raise AccountDisabled()
    token.used_at = now
    return await issue_tokens(
        session, user, settings, signing_key, client, family_id=token.family_id
    )


async def logout(session: AsyncSession, presented: str) -> None:
    """Revoke the family of this refresh token; unknown tokens are ignored (idempotent)."""
    token = await repository.get_refresh_token_for_update(session, hash_token(presented))
    if token is not None:
        await repository.revoke_family(session, token.family_id, utcnow())


async def update_profile(session: AsyncSession, user: User, changes: UserUpdate) -> User:
    """Apply the fields the client sent."""
    for name in changes.model_fields_set:
        setattr(user, name, getattr(changes, name))
    await session.flush()
    return user


async def _confirm_password(user: User, password: str) -> None:
    if not await asyncio.to_thread(verify_password, password, user.password_hash):
        raise WrongPassword()


async def change_password(
    session: AsyncSession, user: User, current_password: str, new_password: str
) -> None:
    """Replace the password after checking the current one; every session is signed out."""
    await _confirm_password(user, current_password)
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    revoked = await repository.revoke_all_for_user(session, user.id, utcnow())
    await session.flush()
    logger.info("password_changed", user_id=str(user.id), sessions_revoked=revoked)


async def delete_account(session: AsyncSession, user: User, password: str) -> None:
    """Delete the account and everything that belongs to it (foreign keys cascade)."""
    await _confirm_password(user, password)
    await session.delete(user)
    await session.flush()
    logger.info("account_deleted", user_id=str(user.id))


async def set_active(session: AsyncSession, user: User, *, active: bool) -> User:
    """Enable or disable an account; disabling signs it out everywhere."""
    user.is_active = active
    if not active:
        await repository.revoke_all_for_user(session, user.id, utcnow())
    await session.flush()
    return user


async def register_device(
    session: AsyncSession, user: User, *, device_id: str, push_token: str, platform: str
) -> Device:
    """Create or update the device; the push token is taken away from any other user."""
    await repository.release_push_token(session, push_token=push_token, keep_user_id=user.id)
    return await repository.upsert_device(
        session,
        user_id=user.id,
        device_id=device_id,
        push_token=push_token,
        platform=platform,
        now=utcnow(),
    )


async def create_admin(session: AsyncSession, email: str, password: str) -> User:
    """Create an admin account, or promote and reset the password of an existing one."""
    user = await repository.get_user_by_email(session, email)
    if user is None:
        data = RegisterRequest(email=email, password=password)
        return await register(session, data, role=Role.ADMIN)
    user.role = Role.ADMIN
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.is_active = True
    await session.flush()
    return user


async def purge_stale_tokens(session: AsyncSession, *, retention_days: int, now: datetime) -> int:
    """Delete refresh tokens dead for longer than the retention period."""
    return await repository.delete_stale_refresh_tokens(
        session, now - timedelta(days=retention_days)
    )
