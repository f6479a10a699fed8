"""HTTP routes of weekly leagues: /leaderboard and /leaderboard/history."""

from __future__ import annotations

from fastapi import APIRouter

from linguo.core.deps import CurrentUser, DbSession, Now
from linguo.core.errors import error_responses
from linguo.core.pagination import Page, Pagination, paginate
from linguo.gamification import leagues
from linguo.gamification import leagues_repository as repository
from linguo.gamification.leagues_schemas import (
    LeaderboardEntryRead,
    LeaderboardRead,
    LeagueWeekRead,
)

router = APIRouter(prefix="/leaderboard", tags=["gamification"], responses=error_responses(401))


@router.get("", response_model=LeaderboardRead)
async def get_leaderboard(user: CurrentUser, session: DbSession, now: Now) -> LeaderboardRead:
    """The caller's league group this week, by rank, with the promotion and demotion ranks.

    Before the caller's first XP of the week: their tier and no entries (`joined` false).
    """
    board = await leagues.leaderboard(session, user.id, now)
    return LeaderboardRead(
        league=board.league,
        tier=board.tier,
        week_start=board.week_start,
        week_end=board.week_end,
        ends_at=board.ends_at,
        joined=board.joined,
        my_rank=board.my_rank,
        my_xp=board.my_xp,
        promotion_rank=leagues.promotion_rank(board.tier),
        demotion_rank=leagues.demotion_rank(board.tier),
        group_size=leagues.GROUP_SIZE,
        entries=[
            LeaderboardEntryRead(
                rank=entry.rank,
                user_id=entry.user_id,
                display_name=entry.display_name,
                xp=entry.xp,
                zone=entry.zone,
            )
            for entry in board.entries
        ],
    )


@router.get("/history", response_model=Page[LeagueWeekRead], responses=error_responses(422))
async def league_history(
    user: CurrentUser, session: DbSession, page: Pagination
) -> Page[LeagueWeekRead]:
    """The caller's weeks in leagues, newest first: league, XP, final rank and outcome."""
    rows, total = await paginate(session, repository.history(user.id), page)
    sizes = await repository.group_sizes(session, [row.group_id for row in rows])
    return Page(
        items=[
            LeagueWeekRead(
                week_start=row.week_start,
                league=leagues.TIERS[row.tier],
                tier=row.tier,
                xp=row.xp,
                rank=row.final_rank,
                group_members=sizes.get(row.group_id, 0),
                outcome=row.outcome,
            )
            for row in rows
        ],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
