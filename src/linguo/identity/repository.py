"""Queries of the identity domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from linguo.models.identity import Device, RefreshToken, Role, User


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this email, compared case-insensitively (uses uq_users_email_lower)."""
    stmt = select(User).where(func.lower(User.email) == email.lower())
    return (await session.execute(stmt)).scalar_one_or_none()


def list_users_query(*, role: Role | None = None, search: str | None = None) -> Select[User]:
    """Users, newest first, optionally filtered by role or an email/name substring."""
    stmt = select(User).order_by(User.created_at.desc(), User.id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(User.email.ilike(pattern), User.full_name.ilike(pattern)))
    return stmt


async def get_refresh_token_for_update(
    session: AsyncSession, token_hash: str
) -> RefreshToken | None:
    """The refresh token with this hash, locked so concurrent refreshes are serialised."""
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def _revoke_live_tokens(
    session: AsyncSession, condition: ColumnElement[bool], at: datetime
) -> int:
    stmt = (
        update(RefreshToken)
        .where(condition, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, at: datetime) -> int:
    """Revoke every live token of a family; returns how many were revoked."""
    return await _revoke_live_tokens(session, RefreshToken.family_id == family_id, at)


async def revoke_all_for_user(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> int:
    """Revoke every live refresh token of a user (disabled account, password change)."""
    return await _revoke_live_tokens(session, RefreshToken.user_id == user_id, at)


async def delete_stale_refresh_tokens(session: AsyncSession, older_than: datetime) -> int:
    """Delete tokens that expired, or were spent or revoked, before `older_than`."""
    stmt = delete(RefreshToken).where(
        or_(
            RefreshToken.expires_at < older_than,
            RefreshToken.revoked_at < older_than,
            RefreshToken.used_at < older_than,
        )
    )
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def upsert_device(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    device_id: str,
    push_token: str,
    platform: str,
    now: datetime,
) -> Device:
    """Create or update the user's device with this device_id (idempotent)."""
    stmt = (
        insert(Device)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            device_id=device_id,
            push_token=push_token,
            platform=platform,
            created_at=now,
            updated_at=now,
            last_seen_at=now,
        )
        .on_conflict_do_update(
            index_elements=[Device.user_id, Device.device_id],
            set_={
                "push_token": push_token,
                "platform": platform,
                "updated_at": now,
                "last_seen_at": now,
            },
        )
        .returning(Device)
    )
    result = await session.execute(stmt, execution_options={"populate_existing": True})
    return result.scalar_one()


async def release_push_token(
    session: AsyncSession, *, push_token: str, keep_user_id: uuid.UUID
) -> None:
    """Remove this push token from other users' devices (a shared phone changed hands)."""
    await session.execute(
        delete(Device).where(Device.push_token == push_token, Device.user_id != keep_user_id)
    )


async def list_devices(session: AsyncSession, user_id: uuid.UUID) -> list[Device]:
    """The user's devices, most recently seen first."""
    stmt = select(Device).where(Device.user_id == user_id).order_by(Device.updated_at.desc())
    return list((await session.execute(stmt)).scalars())


async def delete_device(session: AsyncSession, user_id: uuid.UUID, device_id: str) -> bool:
    """Forget one of the user's devices; False when there was none."""
    result = await session.execute(
        delete(Device).where(Device.user_id == user_id, Device.device_id == device_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
