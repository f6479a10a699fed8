"""Offset pagination: the query parameters and the `{items, total, limit, offset}` page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

MAX_PAGE_SIZE = 100


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class PageParams:
    """Validated `limit` and `offset`."""

    limit: int = 20
    offset: int = 0


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = 20,
    offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
) -> PageParams:
    """FastAPI dependency reading `limit` (1..100) and `offset` (>= 0)."""
    return PageParams(limit=limit, offset=offset)


Pagination = Annotated[PageParams, Depends(page_params)]


async def paginate(
    session: AsyncSession, stmt: Select[Any], params: PageParams
) -> tuple[list[Any], int]:
    """Run `stmt` (selecting one entity) for one page; returns (rows, total of all pages).

    The total comes from the same query (`count(*) OVER ()`), so it always agrees with
    the rows; only a page past the end needs a separate count.
    """
    paged = stmt.add_columns(func.count().over().label("_total"))
    result = await session.execute(paged.limit(params.limit).offset(params.offset))
    rows = result.all()
    if rows:
        return [row[0] for row in rows], int(rows[0][-1])
    if params.offset == 0:
        return [], 0
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    return [], int((await session.execute(count)).scalar_one())
