"""Password hashing, JWT access tokens and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from linguo.core.errors import InvalidToken

# Argon2id with the parameters of OWASP's Password Storage Cheat Sheet (19 MiB, 2 passes, one
# lane): about 25 ms of one core. argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes) cost
# about 120 ms of CPU, so on 2 cores sign-ups and logins starved every other request under
# load. Hashes made with other parameters still verify and are redone at the next login.
PASSWORD_HASHER = Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_password_hash = PasswordHash((PASSWORD_HASHER,))
# Verified against when the email is unknown, so that a login takes as long either way.
_DUMMY_HASH = _password_hash.hash("linguo-timing-equaliser")

JWT_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password against its hash in constant time (also when there is no hash)."""
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    return _password_hash.verify(password, password_hash)


def verify_and_upgrade_password(
    password: str, password_hash: str | None
) -> tuple[bool, str | None]:
    """Like verify_password; also a new hash when the stored one used other parameters."""
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False, None
    return _password_hash.verify_and_update(password, password_hash)


@dataclass(frozen=True)
class AccessClaims:
    """What an access token asserts."""

    user_id: uuid.UUID
    role: str
    expires_at: datetime


def create_access_token(
    *,
    user_id: uuid.UUID,
    role: str,
    key: str,
    issuer: str,
    minutes: int,
    now: datetime | None = None,
) -> tuple[str, int]:
    """A signed JWT for the user; returns (token, lifetime in seconds)."""
    issued = now or datetime.now(UTC)
    expires = issued + timedelta(minutes=minutes)
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "role": role,
        "type": "access",
        "iss": issuer,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, key, algorithm=JWT_ALGORITHM), minutes * 60


# Each process remembers the claims of the access tokens it has verified: a client sends the
# same token with every request for its lifetime, and checking its signature and claims again
# took 1.6% of the API's CPU under load (bench/RESULTS.md). Only tokens that verified are
# kept, keyed by the key and issuer they were verified with; the expiry is checked at every use.
VERIFIED_TOKENS_PER_PROCESS = 8192


def _expired() -> InvalidToken:
    return InvalidToken("The access token has expired.", details={"reason": "expired"})


def decode_access_token(token: str, *, key: str, issuer: str) -> AccessClaims:
    """Verify signature, expiry, issuer and type; raise InvalidToken otherwise."""
    claims = _verified_claims(token, key, issuer)
    if claims.expires_at.timestamp() <= time.time():
        raise _expired()
    return claims


@lru_cache(maxsize=VERIFIED_TOKENS_PER_PROCESS)
def _verified_claims(token: str, key: str, issuer: str) -> AccessClaims:
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            issuer=issuer,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _expired() from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if payload.get("type") != "access":
        raise InvalidToken()
    try:
        user_id = uuid.UUID(payload["sub"])
    except (ValueError, TypeError) as exc:
        raise InvalidToken() from exc
    return AccessClaims(
        user_id=user_id,
        role=str(payload.get("role", "")),
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
    )


def new_refresh_token() -> str:
    """A random opaque refresh token (384 bits)."""
    return secrets.token_urlsafe(48)


def hash_token(token: str) -> str:
    """SHA-256 of a token; only this is stored, so a database leak reveals no usable token.

    Refresh tokens are found by this digest through a unique index. Timing of that lookup
    can only reveal digest prefixes of random 384-bit tokens, which help no attacker, so no
    separate constant-time comparison is needed (passwords are checked by Argon2).
    """
    return hashlib.sha256(token.encode()).hexdigest()
