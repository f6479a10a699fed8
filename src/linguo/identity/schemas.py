"""Request and response bodies of the identity routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    WithJsonSchema,
    computed_field,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from linguo.core.schemas import CEFRLevel, LanguageCode, refuse_nulls
from linguo.gamification.levels import level_for_xp
from linguo.models.identity import DevicePlatform, Plan, Role

Password = Annotated[str, Field(min_length=8, max_length=128)]


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_timezone(value: str) -> str:
    if value not in _iana_zones():
        raise ValueError(f"unknown IANA time zone {value!r}")
    return value


TimeZone = Annotated[
    str,
    Field(max_length=64, examples=["Europe/Paris"]),
    AfterValidator(_check_timezone),
    WithJsonSchema(
        {"type": "string", "enum": sorted(_iana_zones()), "description": "IANA time zone"}
    ),
]


class RegisterRequest(BaseModel):
    """A new account."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Password
    full_name: Annotated[str | None, Field(max_length=200)] = None
    native_language: LanguageCode = "en"
    target_language: LanguageCode = "fr"
    proficiency_level: CEFRLevel = "A1"
    timezone: TimeZone = "UTC"


class LoginRequest(BaseModel):
    """Credentials. The email is not validated: an unknown one is simply wrong (401)."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


class RefreshRequest(BaseModel):
    """A refresh token to spend (refresh) or revoke (logout)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=16, max_length=256)]


class PasswordChange(BaseModel):
    """The current password (proof of possession) and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password


class AccountDeletion(BaseModel):
    """The password, to confirm that the account holder asks for the deletion."""

    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, Field(min_length=1, max_length=128)]


class TokenPair(BaseModel):
    """An access token and the refresh token that renews it."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Lifetime of the access token in seconds")


class UserRead(BaseModel):
    """A user as the API shows them."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    role: Role
    plan: Plan
    native_language: str
    target_language: str
    proficiency_level: str
    timezone: str
    is_active: bool
    is_verified: bool
    total_xp: int
    current_streak: int
    longest_streak: int
    created_at: datetime
    last_login_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def level(self) -> int:
        """Level reached with total_xp (see linguo.gamification.levels)."""
        return level_for_xp(self.total_xp)


class UserUpdate(BaseModel):
    """Fields a user may change on their own account; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str | None, Field(max_length=200)] = None
    # Absent means "unchanged"; null is refused, so the schema does not offer it.
    native_language: LanguageCode | SkipJsonSchema[None] = None
    target_language: LanguageCode | SkipJsonSchema[None] = None
    proficiency_level: CEFRLevel | SkipJsonSchema[None] = None
    timezone: TimeZone | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _only_full_name_may_be_cleared(self) -> UserUpdate:
        refuse_nulls(self, nullable=frozenset({"full_name"}))
        return self


class DeviceRegister(BaseModel):
    """A device to deliver push notifications to."""

    model_config = ConfigDict(extra="forbid")

    device_id: Annotated[str, Field(min_length=1, max_length=200)]
    push_token: Annotated[str, Field(min_length=1, max_length=1024)]
    platform: DevicePlatform


class DeviceRead(BaseModel):
    """A registered device."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    device_id: str
    platform: DevicePlatform
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None
