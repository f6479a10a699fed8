"""Identity routes through HTTP: registration, login, tokens, profile, admin, devices."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import argon2
import httpx
import jwt
import pytest

from linguo.analytics.service import take_snapshots
from linguo.content.importer import import_course
from linguo.content.librelingo import DEMO_COURSE_PATH, load_course
from linguo.core.db import Database
from linguo.core.errors import InvalidToken
from linguo.core.security import create_access_token, decode_access_token
from linguo.gamification.achievements import seed_achievements
from linguo.gamification.service import grant_gems
from linguo.gamification.shop import seed_shop_items
from linguo.models.identity import Role
from linguo.models.notifications import NotificationKind
from linguo.models.social import ActivityKind
from linguo.notifications import repository as notifications
from linguo.providers.storage import LocalStorage
from linguo.social.service import record_activity
from tests.conftest import (
    PASSWORD,
    TEST_SECRET,
    UserFactory,
    bearer,
    execute,
    login,
    register,
    scalar,
)

API = "/api/v1"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    return dict(error)


# Registration


async def test_register_returns_the_user_with_defaults(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/auth/register", json={"email": "Ana@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    user = response.json()
    assert user["email"] == "Ana@example.com"  # the domain is normalised, the local part kept
    assert user["role"] == "student"
    assert user["plan"] == "free"
    assert (user["native_language"], user["target_language"]) == ("en", "fr")
    assert (user["proficiency_level"], user["timezone"]) == ("A1", "UTC")
    assert (user["total_xp"], user["level"], user["current_streak"], user["longest_streak"]) == (
        0,
        1,
        0,
        0,
    )
    assert "password" not in response.text and "password_hash" not in user
    assert datetime.fromisoformat(user["created_at"]).utcoffset() == timedelta(0)


async def test_register_duplicate_email_in_any_case_is_409(
    client: httpx.AsyncClient, database: Database
) -> None:
    await register(client, "maria@example.com")
    response = await client.post(
        f"{API}/auth/register", json={"email": "MARIA@example.COM", "password": PASSWORD}
    )
    assert_error(response, 409, "email_taken")
    assert await scalar(database, "SELECT count(*) FROM users") == 1


async def test_concurrent_registrations_of_one_email_create_one_account(
    client: httpx.AsyncClient, database: Database
) -> None:
    body = {"email": "race@example.com", "password": PASSWORD}
    responses = await asyncio.gather(
        *(client.post(f"{API}/auth/register", json=body) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    assert await scalar(database, "SELECT count(*) FROM users") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", "short"),
        ("password", "x" * 129),
        ("email", "not-an-email"),
        ("timezone", "Mars/Olympus_Mons"),
        ("proficiency_level", "D1"),
        ("native_language", "English"),
        ("role", "admin"),
    ],
)
async def test_register_rejects_bad_input_and_creates_nothing(
    client: httpx.AsyncClient, database: Database, field: str, value: str
) -> None:
    body = {"email": "new@example.com", "password": PASSWORD, field: value}
    error = assert_error(
        await client.post(f"{API}/auth/register", json=body), 422, "validation_error"
    )
    assert any(field in detail["loc"] for detail in error["details"])  # type: ignore[attr-defined]
    assert await scalar(database, "SELECT count(*) FROM users") == 0


async def test_register_accepts_an_iana_timezone(client: httpx.AsyncClient) -> None:
    user = await register(client, timezone="America/Argentina/Buenos_Aires", target_language="es")
    assert user["timezone"] == "America/Argentina/Buenos_Aires"
    assert user["target_language"] == "es"


# Login and tokens


async def test_login_with_any_email_case_issues_working_tokens(
    client: httpx.AsyncClient, database: Database
) -> None:
    user = await register(client, "case@example.com")
    tokens = await login(client, "CASE@example.com")
    assert tokens["token_type"] == "bearer"
    assert 15 * 60 <= tokens["expires_in"] <= 60 * 60
    me = await client.get(f"{API}/users/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    assert me.json()["last_login_at"] is not None
    stored = await scalar(database, "SELECT token_hash FROM refresh_tokens")
    assert stored != tokens["refresh_token"] and len(stored) == 64


async def test_passwords_are_hashed_with_argon2id_at_owasp_cost(
    client: httpx.AsyncClient, database: Database
) -> None:
    await register(client, "hash@example.com")
    stored = await scalar(database, "SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


async def test_a_hash_with_older_parameters_still_logs_in_and_is_redone(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Accounts hashed with argon2-cffi's defaults (as before) keep working."""
    await register(client, "old-hash@example.com")
    older = argon2.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    await execute(database, "UPDATE users SET password_hash = :hash", hash=older)

    wrong = await client.post(
        f"{API}/auth/login", json={"email": "old-hash@example.com", "password": "not it at all"}
    )
    assert_error(wrong, 401, "invalid_credentials")
    assert await scalar(database, "SELECT password_hash FROM users") == older

    await login(client, "old-hash@example.com")
    upgraded = await scalar(database, "SELECT password_hash FROM users")
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    await login(client, "old-hash@example.com")  # the new hash verifies too


@pytest.mark.parametrize(
    ("email", "password"),
    [("login@example.com", "wrong password"), ("nobody@example.com", PASSWORD)],
)
async def test_bad_credentials_are_401_whoever_the_email(
    client: httpx.AsyncClient, email: str, password: str
) -> None:
    await register(client, "login@example.com")
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    error = assert_error(response, 401, "invalid_credentials")
    assert error["message"] == "Incorrect email or password."


async def test_oauth2_token_form_logs_in(client: httpx.AsyncClient) -> None:
    await register(client, "form@example.com")
    response = await client.post(
        f"{API}/auth/token", data={"username": "form@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert (await client.get(f"{API}/users/me", headers=bearer(response.json()))).status_code == 200
    bad = await client.post(
        f"{API}/auth/token", data={"username": "form@example.com", "password": "x"}
    )
    assert_error(bad, 401, "invalid_credentials")


async def test_refresh_rotates_and_the_old_token_is_spent(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await login(client, user["email"])
    response = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get(f"{API}/users/me", headers=bearer(second))).status_code == 200


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, database: Database
) -> None:
    user = await register(client)
    stolen = await login(client, user["email"])
    other_device = await login(client, user["email"])
    rotated = (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    ).json()

    reuse = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": stolen["refresh_token"]}
    )
    assert_error(reuse, 401, "invalid_token")
    assert "already used" in reuse.json()["error"]["message"]

    # The legitimate successor is revoked too, and the revocation was committed.
    after = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert_error(after, 401, "invalid_token")
    live = await scalar(database, "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL")
    assert live == 1  # only the other device's family survives
    assert (
        await client.post(
            f"{API}/auth/refresh", json={"refresh_token": other_device["refresh_token"]}
        )
    ).status_code == 200


async def test_concurrent_refreshes_with_one_token_yield_one_pair(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    tokens = await login(client, user["email"])
    body = {"refresh_token": tokens["refresh_token"]}
    responses = await asyncio.gather(
        *(client.post(f"{API}/auth/refresh", json=body) for _ in range(3))
    )
    assert sorted(r.status_code for r in responses) == [200, 401, 401]


async def test_unknown_and_expired_refresh_tokens_are_401(
    client: httpx.AsyncClient, database: Database
) -> None:
    unknown = await client.post(f"{API}/auth/refresh", json={"refresh_token": "x" * 64})
    assert_error(unknown, 401, "invalid_token")
    user = await register(client)
    tokens = await login(client, user["email"])
    await execute(database, "UPDATE refresh_tokens SET expires_at = now() - interval '1 s'")
    expired = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    error = assert_error(expired, 401, "invalid_token")
    assert error["details"] == {"reason": "expired"}


async def test_logout_revokes_the_refresh_token_and_is_idempotent(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    tokens = await login(client, user["email"])
    body = {"refresh_token": tokens["refresh_token"]}
    assert (await client.post(f"{API}/auth/logout", json=body)).status_code == 204
    assert (await client.post(f"{API}/auth/logout", json=body)).status_code == 204
    assert_error(await client.post(f"{API}/auth/refresh", json=body), 401, "invalid_token")


async def test_disabled_user_cannot_log_in_refresh_or_use_tokens(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    _, admin_headers, _ = await user_factory(Role.ADMIN)
    learner, learner_headers, learner_tokens = await user_factory()
    disabled = await client.post(f"{API}/users/{learner['id']}/disable", headers=admin_headers)
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False

    login_response = await client.post(
        f"{API}/auth/login", json={"email": learner["email"], "password": PASSWORD}
    )
    assert_error(login_response, 403, "account_disabled")
    refresh = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": learner_tokens["refresh_token"]}
    )
    assert_error(refresh, 401, "invalid_token")
    assert_error(await client.get(f"{API}/users/me", headers=learner_headers), 401, "invalid_token")

    enabled = await client.post(f"{API}/users/{learner['id']}/enable", headers=admin_headers)
    assert enabled.json()["is_active"] is True
    assert (
        await client.post(
            f"{API}/auth/login", json={"email": learner["email"], "password": PASSWORD}
        )
    ).status_code == 200


# Access tokens


async def test_me_requires_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/users/me")
    assert_error(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


def _jwt(key: str = TEST_SECRET, **claims: object) -> str:
    payload = {"sub": str(uuid.uuid4()), "exp": 4102444800, "iat": 0, "iss": "linguo"}
    payload["type"] = "access"
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        _jwt(key="another-key-that-is-long-enough-for-hs256"),
        _jwt(),
        _jwt(sub="x", type="refresh"),
        _jwt(iss="someone-else"),
    ],
    ids=["malformed", "wrong-signature", "unknown-user", "wrong-type", "wrong-issuer"],
)
async def test_invalid_access_tokens_are_401(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401, "invalid_token")


def _access_token_expiring(user: dict[str, Any], expires: datetime) -> str:
    """A learner's access token of the app's usual 15 minutes, which expires at `expires`."""
    token, _ = create_access_token(
        user_id=uuid.UUID(user["id"]),
        role="student",
        key=TEST_SECRET,
        issuer="linguo",
        minutes=15,
        now=expires - timedelta(minutes=15),
    )
    return token


async def test_expired_access_token_is_401_with_reason(client: httpx.AsyncClient) -> None:
    user = await register(client)
    token = _access_token_expiring(user, datetime.now(UTC) - timedelta(minutes=1))
    response = await client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {token}"})
    error = assert_error(response, 401, "invalid_token")
    assert error["details"] == {"reason": "expired"}


async def test_a_token_accepted_before_is_refused_once_it_expires(
    client: httpx.AsyncClient,
) -> None:
    """A process remembers the tokens it verified, but not past their expiry."""
    user = await register(client)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    token = _access_token_expiring(user, expires)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200
    await asyncio.sleep((expires - datetime.now(UTC)).total_seconds() + 0.1)
    error = assert_error(await client.get(f"{API}/users/me", headers=headers), 401, "invalid_token")
    assert error["details"] == {"reason": "expired"}


def test_a_verified_token_is_verified_again_with_another_key() -> None:
    """Remembered claims are the key's: a token signed with an old key fails with a new one."""
    token = _jwt()
    assert decode_access_token(token, key=TEST_SECRET, issuer="linguo").role == ""
    with pytest.raises(InvalidToken):
        decode_access_token(token, key="another-key-that-is-long-enough-for-hs256", issuer="linguo")
    with pytest.raises(InvalidToken):
        decode_access_token(token, key=TEST_SECRET, issuer="someone-else")


# Profile


async def test_patch_me_changes_only_sent_fields(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    _, headers, _ = await user_factory(full_name="Old Name")
    response = await client.patch(
        f"{API}/users/me",
        headers=headers,
        json={"timezone": "Europe/Paris", "target_language": "es", "proficiency_level": "B1"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["timezone"], body["target_language"], body["proficiency_level"]) == (
        "Europe/Paris",
        "es",
        "B1",
    )
    assert body["full_name"] == "Old Name"
    again = await client.get(f"{API}/users/me", headers=headers)
    assert again.json()["timezone"] == "Europe/Paris"
    cleared = await client.patch(f"{API}/users/me", headers=headers, json={"full_name": None})
    assert cleared.json()["full_name"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"role": "admin"},
        {"email": "other@example.com"},
        {"timezone": "Nowhere/City"},
        {"target_language": None},
        {"total_xp": 1000},
    ],
)
async def test_patch_me_rejects_bad_or_unknown_fields_and_changes_nothing(
    client: httpx.AsyncClient, user_factory: UserFactory, body: dict[str, object]
) -> None:
    user, headers, _ = await user_factory()
    assert_error(
        await client.patch(f"{API}/users/me", headers=headers, json=body), 422, "validation_error"
    )
    me = (await client.get(f"{API}/users/me", headers=headers)).json()
    assert me == {**user, "last_login_at": me["last_login_at"]}


# Admin


async def test_listing_users_is_admin_only_and_paged(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    _, student_headers, _ = await user_factory()
    _, tutor_headers, _ = await user_factory(Role.TUTOR)
    _, admin_headers, _ = await user_factory(Role.ADMIN)
    for headers in (student_headers, tutor_headers):
        assert_error(await client.get(f"{API}/users", headers=headers), 403, "forbidden")

    page = await client.get(f"{API}/users", headers=admin_headers, params={"limit": 2})
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (3, 2, 0, 2)
    rest = (await client.get(f"{API}/users", headers=admin_headers, params={"offset": 2})).json()
    assert len(rest["items"]) == 1
    ids = {item["id"] for item in body["items"]} | {item["id"] for item in rest["items"]}
    assert len(ids) == 3
    tutors = (
        await client.get(f"{API}/users", headers=admin_headers, params={"role": "tutor"})
    ).json()
    assert [item["role"] for item in tutors["items"]] == ["tutor"]
    assert_error(
        await client.get(f"{API}/users", headers=admin_headers, params={"limit": 101}),
        422,
        "validation_error",
    )


async def test_disabling_an_unknown_user_is_404(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    _, admin_headers, _ = await user_factory(Role.ADMIN)
    response = await client.post(f"{API}/users/{uuid.uuid4()}/disable", headers=admin_headers)
    assert_error(response, 404, "not_found")


# Devices


async def test_device_registration_is_idempotent_per_device_id(
    client: httpx.AsyncClient, user_factory: UserFactory, database: Database
) -> None:
    _, headers, _ = await user_factory()
    body = {"device_id": "phone-1", "push_token": "token-a", "platform": "ios"}
    first = await client.post(f"{API}/users/me/devices", headers=headers, json=body)
    assert first.status_code == 201
    second = await client.post(
        f"{API}/users/me/devices", headers=headers, json={**body, "push_token": "token-b"}
    )
    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert await scalar(database, "SELECT push_token FROM devices") == "token-b"
    listed = (await client.get(f"{API}/users/me/devices", headers=headers)).json()
    assert [device["device_id"] for device in listed] == ["phone-1"]
    assert "push_token" not in listed[0]


async def test_a_push_token_follows_the_account_that_registered_it_last(
    client: httpx.AsyncClient, user_factory: UserFactory, database: Database
) -> None:
    _, first_headers, _ = await user_factory()
    _, second_headers, _ = await user_factory()
    body = {"device_id": "shared-tablet", "push_token": "shared-token", "platform": "android"}
    await client.post(f"{API}/users/me/devices", headers=first_headers, json=body)
    await client.post(f"{API}/users/me/devices", headers=second_headers, json=body)
    assert (await client.get(f"{API}/users/me/devices", headers=first_headers)).json() == []
    assert await scalar(database, "SELECT count(*) FROM devices") == 1


async def test_device_input_is_validated_and_deletion_works(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    _, headers, _ = await user_factory()
    bad = {"device_id": "x", "push_token": "t", "platform": "blackberry"}
    assert_error(
        await client.post(f"{API}/users/me/devices", headers=headers, json=bad),
        422,
        "validation_error",
    )
    good = {"device_id": "x", "push_token": "t", "platform": "web"}
    await client.post(f"{API}/users/me/devices", headers=headers, json=good)
    assert (await client.delete(f"{API}/users/me/devices/x", headers=headers)).status_code == 204
    assert_error(
        await client.delete(f"{API}/users/me/devices/x", headers=headers), 404, "not_found"
    )


async def test_token_responses_are_never_cached(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        f"{API}/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    refreshed = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": response.json()["refresh_token"]}
    )
    assert refreshed.headers["cache-control"] == "no-store"


async def test_changing_the_password_signs_out_every_session(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    user, headers, tokens = await user_factory()
    wrong = await client.post(
        f"{API}/users/me/password",
        headers=headers,
        json={"current_password": "not it at all", "new_password": "a brand new password"},
    )
    assert_error(wrong, 400, "wrong_password")
    too_short = await client.post(
        f"{API}/users/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert_error(too_short, 422, "validation_error")
    await login(client, user["email"])  # the password is unchanged so far

    changed = await client.post(
        f"{API}/users/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert changed.status_code == 204
    refresh = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_error(refresh, 401, "invalid_token")
    old = await client.post(
        f"{API}/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert_error(old, 401, "invalid_credentials")
    await login(client, user["email"], "a brand new password")


async def test_deleting_the_account_removes_it_and_everything_it_owns(
    client: httpx.AsyncClient,
    user_factory: UserFactory,
    database: Database,
    demo_vocabulary: dict[tuple[str, str], int],
    tmp_path: Path,
) -> None:
    user, headers, tokens = await user_factory()
    other, other_headers, _ = await user_factory()
    device = {"device_id": "phone", "push_token": "t", "platform": "ios"}
    await client.post(f"{API}/users/me/devices", headers=headers, json=device)
    # Study data: settings, a reviewed word, a pack subscription, a flashcard.
    pack_id = await scalar(database, "SELECT id FROM word_packs ORDER BY title LIMIT 1")
    word_id = demo_vocabulary[("bonjour", "interjection")]
    for method, url, body in (
        ("PATCH", "/progress/settings", {"new_cards_per_day": 5}),
        ("POST", "/progress/review", {"word_id": word_id, "rating": 2}),
        ("POST", f"/packs/{pack_id}/subscribe", None),
        ("POST", "/flashcards", {"front": "le chat", "back": "the cat"}),
    ):
        response = await client.request(method, f"{API}{url}", headers=headers, json=body)
        assert response.status_code in (200, 201), response.text
    # A finished lesson attempt and a conversation with an error to remember.
    async with database.session() as session:
        report = await import_course(
            session, load_course(DEMO_COURSE_PATH), storage=LocalStorage(tmp_path), tts=None
        )
    course = (await client.get(f"{API}/courses/{report.course_id}", headers=headers)).json()
    lesson_id = course["units"][0]["lessons"][0]["id"]
    attempt = (await client.post(f"{API}/lessons/{lesson_id}/start", headers=headers)).json()
    first = {"exercise_id": attempt["exercises"][0]["id"], "answer": "?"}
    await client.post(
        f"{API}/attempts/{attempt['attempt_id']}/answers", headers=headers, json=first
    )
    await client.post(f"{API}/attempts/{attempt['attempt_id']}/finish", headers=headers)
    conversation = await client.post(
        f"{API}/sessions", headers=headers, json={"planned_duration_minutes": 10}
    )
    said = await client.post(
        f"{API}/sessions/{conversation.json()['session']['id']}/messages",
        headers=headers,
        json={"content": "Je mange avec la chien."},
    )
    assert said.status_code == 200, said.text
    # Gems, a purchase and the item bought.
    async with database.session() as session:
        await seed_shop_items(session)
        await seed_achievements(session)
        await grant_gems(session, uuid.UUID(user["id"]), 50, reference="t", at=datetime.now(UTC))
    bought = await client.post(f"{API}/shop/streak_freeze/purchase", headers=headers)
    assert bought.status_code == 201, bought.text
    # Achievements unlocked by what the learner did (the conversation turn at least).
    checked = await client.post(f"{API}/achievements/check", headers=headers)
    assert checked.json()["total_unlocked"] >= 1, checked.text
    # Follows both ways, the sharing setting and a feed activity.
    for follower, followee in ((headers, other), (other_headers, user)):
        followed = await client.post(f"{API}/users/{followee['id']}/follow", headers=follower)
        assert followed.status_code == 204, followed.text
    await client.patch(f"{API}/me/social", headers=headers, json={"share_activity": False})
    async with database.session() as session:
        await record_activity(
            session,
            uuid.UUID(user["id"]),
            ActivityKind.STREAK_MILESTONE,
            reference="7:2026-03-02",
            data={"days": 7},
            now=datetime.now(UTC),
        )
        # A streak reminder waiting in the notifications outbox.
        await notifications.add_notification(
            session,
            user_id=uuid.UUID(user["id"]),
            kind=NotificationKind.STREAK_REMINDER,
            reference="2026-03-02",
            title="Keep your 7-day streak!",
            body="You haven't practised today yet.",
            data={"streak": 7, "local_date": "2026-03-02"},
            at=datetime.now(UTC),
        )
    # The daily analytics snapshot of the (UTC) day of that activity.
    activity_day = await scalar(
        database,
        "SELECT (max(created_at) AT TIME ZONE 'UTC')::date FROM xp_ledger WHERE user_id = :u",
        u=uuid.UUID(user["id"]),
    )
    async with database.session() as session:
        await take_snapshots(session, activity_day, now=datetime.now(UTC))
    owned_queries = {
        "users": "SELECT count(*) FROM users WHERE id = :u",
        "refresh_tokens": "SELECT count(*) FROM refresh_tokens WHERE user_id = :u",
        "devices": "SELECT count(*) FROM devices WHERE user_id = :u",
        "srs_profiles": "SELECT count(*) FROM srs_profiles WHERE user_id = :u",
        "srs_cards": "SELECT count(*) FROM srs_cards WHERE user_id = :u",
        "srs_review_logs": "SELECT count(*) FROM srs_review_logs WHERE user_id = :u",
        "flashcards": "SELECT count(*) FROM flashcards WHERE user_id = :u",
        "flashcard_events": "SELECT count(*) FROM flashcard_events WHERE user_id = :u",
        "pack_subscriptions": "SELECT count(*) FROM pack_subscriptions WHERE user_id = :u",
        "lesson_attempts": "SELECT count(*) FROM lesson_attempts WHERE user_id = :u",
        "question_attempts": "SELECT count(*) FROM question_attempts q "
        "JOIN lesson_attempts a ON a.id = q.attempt_id WHERE a.user_id = :u",
        "lesson_progress": "SELECT count(*) FROM lesson_progress WHERE user_id = :u",
        "conversation_sessions": "SELECT count(*) FROM conversation_sessions WHERE user_id = :u",
        "conversation_messages": "SELECT count(*) FROM conversation_messages m "
        "JOIN conversation_sessions s ON s.id = m.session_id WHERE s.user_id = :u",
        "learner_error_memory": "SELECT count(*) FROM learner_error_memory WHERE user_id = :u",
        "gamification_profiles": "SELECT count(*) FROM gamification_profiles WHERE user_id = :u",
        "xp_ledger": "SELECT count(*) FROM xp_ledger WHERE user_id = :u",
        "streak_days": "SELECT count(*) FROM streak_days WHERE user_id = :u",
        "gem_transactions": "SELECT count(*) FROM gem_transactions WHERE user_id = :u",
        "purchases": "SELECT count(*) FROM purchases WHERE user_id = :u",
        "inventory_items": "SELECT count(*) FROM inventory_items WHERE user_id = :u",
        "follows": "SELECT count(*) FROM follows WHERE follower_id = :u OR followee_id = :u",
        "social_profiles": "SELECT count(*) FROM social_profiles WHERE user_id = :u",
        "activities": "SELECT count(*) FROM activities WHERE user_id = :u",
        "user_achievements": "SELECT count(*) FROM user_achievements WHERE user_id = :u",
        "analytics_snapshots": "SELECT count(*) FROM analytics_snapshots WHERE user_id = :u",
        "notifications": "SELECT count(*) FROM notifications WHERE user_id = :u",
        "league_memberships": "SELECT count(*) FROM league_memberships WHERE user_id = :u",
    }
    for table, query in owned_queries.items():
        assert await scalar(database, query, u=uuid.UUID(user["id"])) > 0, table

    wrong = await client.request(
        "DELETE", f"{API}/users/me", headers=headers, json={"password": "not the password"}
    )
    assert_error(wrong, 400, "wrong_password")
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200

    deleted = await client.request(
        "DELETE", f"{API}/users/me", headers=headers, json={"password": PASSWORD}
    )
    assert deleted.status_code == 204
    assert_error(await client.get(f"{API}/users/me", headers=headers), 401, "invalid_token")
    refresh = await client.post(
        f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_error(refresh, 401, "invalid_token")
    for table, query in owned_queries.items():
        assert await scalar(database, query, u=uuid.UUID(user["id"])) == 0, table
    # The email is free again, and other accounts are untouched.
    await register(client, user["email"])
    assert (await client.get(f"{API}/users/me", headers=other_headers)).json()["id"] == other["id"]
