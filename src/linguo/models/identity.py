"""Identity tables: users, their refresh tokens and their devices."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from linguo.core.db import Base, Timestamps, UUIDPrimaryKey, pg_enum


class Role(StrEnum):
    """What a user may do."""

    STUDENT = "student"
    TUTOR = "tutor"
    ADMIN = "admin"


class Plan(StrEnum):
    """The user's subscription plan."""

    FREE = "free"
    PREMIUM = "premium"


class DevicePlatform(StrEnum):
    """Where a device receives push notifications."""

    IOS = "ios"
    ANDROID = "android"
    WEB = "web"


class User(UUIDPrimaryKey, Timestamps, Base):
    """A learner, tutor or administrator."""

    __tablename__ = "users"
    __table_args__ = (
        # Emails are unique whatever their case.
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        Index("ix_users_created_at", "created_at"),
    )

    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(pg_enum(Role, "user_role"), default=Role.STUDENT)
    plan: Mapped[Plan] = mapped_column(pg_enum(Plan, "user_plan"), default=Plan.FREE)
    native_language: Mapped[str] = mapped_column(String(8), default="en")
    target_language: Mapped[str] = mapped_column(String(8), default="fr")
    proficiency_level: Mapped[str] = mapped_column(String(2), default="A1")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_ip: Mapped[str | None] = mapped_column(String(45))
    # Running totals kept by gamification from its ledgers.
    total_xp: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    current_streak: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    longest_streak: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class RefreshToken(UUIDPrimaryKey, Base):
    """One opaque refresh token (stored as its SHA-256) in a rotation family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_user_id", "user_id"),
        Index("ix_refresh_tokens_expires_at", "expires_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(45))


class Device(UUIDPrimaryKey, Timestamps, Base):
    """A device of a user that can receive push notifications."""

    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("user_id", "device_id"),
        Index("ix_devices_push_token", "push_token"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(200))
    push_token: Mapped[str] = mapped_column(String(1024))
    platform: Mapped[DevicePlatform] = mapped_column(pg_enum(DevicePlatform, "device_platform"))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
