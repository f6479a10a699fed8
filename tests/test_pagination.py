"""Offset pagination: `paginate` on real rows and the `limit`/`offset` query parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from linguo.core.db import Database
from linguo.core.pagination import MAX_PAGE_SIZE, Page, PageParams, paginate
from linguo.models.identity import Role, User


async def _make_users(database: Database, count: int, prefix: str = "page") -> list[str]:
    emails = [f"{prefix}-{index:02d}@example.com" for index in range(count)]
    async with database.session() as session:
        session.add_all(User(email=email, password_hash="x") for email in emails)
    return emails


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (3, 0, slice(0, 3)),
        (3, 3, slice(3, 6)),
        (3, 6, slice(6, 7)),
        (100, 0, slice(0, 7)),
        (1, 4, slice(4, 5)),
    ],
)
async def test_paginate_returns_the_requested_slice_and_the_total(
    database: Database, limit: int, offset: int, expected: slice
) -> None:
    emails = await _make_users(database, 7)
    stmt = select(User).order_by(User.email)

    async with database.session() as session:
        rows, total = await paginate(session, stmt, PageParams(limit=limit, offset=offset))

    assert total == 7
    assert all(isinstance(row, User) for row in rows)
    assert [row.email for row in rows] == emails[expected]


@pytest.mark.parametrize("offset", [7, 8, 1000])
async def test_offset_past_the_end_gives_no_items_and_the_total(
    database: Database, offset: int
) -> None:
    await _make_users(database, 7)
    async with database.session() as session:
        rows, total = await paginate(
            session, select(User).order_by(User.email), PageParams(limit=5, offset=offset)
        )
    assert rows == []
    assert total == 7


async def test_paginate_empty_table(database: Database) -> None:
    async with database.session() as session:
        rows, total = await paginate(session, select(User), PageParams())
    assert (rows, total) == ([], 0)


async def test_total_counts_only_the_filtered_rows(database: Database) -> None:
    await _make_users(database, 5, prefix="keep")
    await _make_users(database, 4, prefix="other")
    stmt = select(User).where(User.email.like("keep-%")).order_by(User.email.desc())

    async with database.session() as session:
        rows, total = await paginate(session, stmt, PageParams(limit=2, offset=1))

    assert total == 5
    assert [row.email for row in rows] == ["keep-03@example.com", "keep-02@example.com"]


async def test_pages_cover_every_row_once(database: Database) -> None:
    emails = await _make_users(database, 11)
    seen: list[str] = []
    offset = 0
    async with database.session() as session:
        while True:
            rows, total = await paginate(
                session, select(User).order_by(User.email), PageParams(limit=4, offset=offset)
            )
            assert total == 11
            if not rows:
                break
            seen.extend(row.email for row in rows)
            offset += 4
    assert seen == emails


def test_page_model_serialises() -> None:
    page = Page[int](items=[1, 2], total=5, limit=2, offset=0)
    assert page.model_dump() == {"items": [1, 2], "total": 5, "limit": 2, "offset": 0}


async def test_users_endpoint_pages_with_total(
    client: httpx.AsyncClient, database: Database, user_factory: Callable[..., Any]
) -> None:
    _, admin_headers, _ = await user_factory(Role.ADMIN)
    await _make_users(database, 5)

    response = await client.get(
        "/api/v1/users", params={"limit": 2, "offset": 1}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (6, 2, 1)
    assert len(body["items"]) == 2

    response = await client.get("/api/v1/users", params={"offset": 6}, headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["items"] == []
    assert (body["total"], body["limit"], body["offset"]) == (6, 20, 6)

    # Pages put together list every account exactly once.
    ids: list[str] = []
    for offset in range(0, 6, 4):
        response = await client.get(
            "/api/v1/users", params={"limit": 4, "offset": offset}, headers=admin_headers
        )
        ids.extend(item["id"] for item in response.json()["items"])
    assert len(ids) == len(set(ids)) == 6


async def test_users_endpoint_refuses_bad_page_parameters(
    client: httpx.AsyncClient, user_factory: Callable[..., Any]
) -> None:
    _, admin_headers, _ = await user_factory(Role.ADMIN)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"limit": 0}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "many"}, "limit"),
        ({"offset": 1, "limit": 0}, "limit"),
    ]
    for params, field in cases:
        response = await client.get("/api/v1/users", params=params, headers=admin_headers)
        assert response.status_code == 422, (params, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert [detail["loc"] for detail in error["details"]] == [["query", field]], params


async def test_users_endpoint_accepts_the_largest_page(
    client: httpx.AsyncClient, user_factory: Callable[..., Any]
) -> None:
    _, admin_headers, _ = await user_factory(Role.ADMIN)
    response = await client.get(
        "/api/v1/users", params={"limit": MAX_PAGE_SIZE}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["limit"] == MAX_PAGE_SIZE
